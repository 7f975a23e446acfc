using KvStore.Jepsen.Cluster;

namespace KvStore.Jepsen.Nemesis;

/// <summary>SIGSTOP of one node, a minority or the leader; healing sends SIGCONT. A paused leader
/// wakes up still believing it leads: the classic test of stale reads and fencing.</summary>
public sealed class PauseNemesis : INemesis
{
    public string Name => "pause";

    public async Task<IActiveFault?> InjectAsync(ClusterUnderTest cluster, Random random, CancellationToken cancellationToken)
    {
        if (await NodeChoice.PickAsync(cluster, random, cancellationToken).ConfigureAwait(false) is not { } pick)
        {
            return null;
        }

        foreach (NodeUnderTest node in pick.Nodes)
        {
            cluster.Pause(node);
        }

        return new Paused(cluster, pick.Nodes, $"pause {string.Join(",", pick.Nodes)} ({pick.How})");
    }

    private sealed class Paused(ClusterUnderTest cluster, IReadOnlyList<NodeUnderTest> nodes, string description) : IActiveFault
    {
        public string Description => description;

        public Task HealAsync(CancellationToken cancellationToken)
        {
            foreach (NodeUnderTest node in nodes)
            {
                cluster.Resume(node);
            }

            return Task.CompletedTask;
        }
    }
}
