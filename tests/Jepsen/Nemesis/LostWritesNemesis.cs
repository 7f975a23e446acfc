using KvStore.Jepsen.Cluster;

namespace KvStore.Jepsen.Nemesis;

/// <summary>
/// A power cut: SIGKILL of one node, a minority or the leader while every node runs with
/// <c>--fault-lose-unsynced-writes</c> (the run starts them so when this nemesis is chosen), so each
/// killed node loses every write it had not synced. Healing restarts them on what was synced.
/// </summary>
public sealed class LostWritesNemesis : INemesis
{
    public string Name => "lost-writes";

    public async Task<IActiveFault?> InjectAsync(ClusterUnderTest cluster, Random random, CancellationToken cancellationToken)
    {
        if (!cluster.Settings.LoseUnsyncedWrites)
        {
            throw new InvalidOperationException("the lost-writes nemesis needs a cluster started with LoseUnsyncedWrites");
        }

        if (await NodeChoice.PickAsync(cluster, random, cancellationToken).ConfigureAwait(false) is not { } pick)
        {
            return null;
        }

        foreach (NodeUnderTest node in pick.Nodes)
        {
            cluster.Kill(node);
        }

        return new PowerCut(cluster, pick.Nodes, $"power cut {string.Join(",", pick.Nodes)} ({pick.How}): unsynced writes lost");
    }

    private sealed class PowerCut(ClusterUnderTest cluster, IReadOnlyList<NodeUnderTest> nodes, string description) : IActiveFault
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
