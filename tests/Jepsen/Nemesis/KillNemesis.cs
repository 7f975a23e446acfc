using KvStore.Jepsen.Cluster;

namespace KvStore.Jepsen.Nemesis;

/// <summary>SIGKILL of one node, a minority or the leader; healing restarts them on their data.</summary>
public sealed class KillNemesis : INemesis
{
    public string Name => "kill";

    public async Task<IActiveFault?> InjectAsync(ClusterUnderTest cluster, Random random, CancellationToken cancellationToken)
    {
        if (await NodeChoice.PickAsync(cluster, random, cancellationToken).ConfigureAwait(false) is not { } pick)
        {
            return null;
        }

        foreach (NodeUnderTest node in pick.Nodes)
        {
            cluster.Kill(node);
        }

        return new Killed(cluster, pick.Nodes, $"kill {string.Join(",", pick.Nodes)} ({pick.How})");
    }

    private sealed class Killed(ClusterUnderTest cluster, IReadOnlyList<NodeUnderTest> nodes, string description) : IActiveFault
    {
        public string Description => description;

        public Task HealAsync(CancellationToken cancellationToken)
        {
            foreach (NodeUnderTest node in nodes.Where(n => !n.IsRunning))
            {
                cluster.Launch(node);
            }

            return Task.CompletedTask;
        }
    }
}
