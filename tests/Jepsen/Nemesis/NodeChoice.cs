using KvStore.Jepsen.Cluster;

namespace KvStore.Jepsen.Nemesis;

/// <summary>The targets the kill and pause nemeses pick from: one node, a minority, or the leader.</summary>
public static class NodeChoice
{
    /// <summary>Picks the nodes to hit and says which way they were picked.</summary>
    public static async Task<(IReadOnlyList<NodeUnderTest> Nodes, string How)?> PickAsync(ClusterUnderTest cluster, Random random, CancellationToken cancellationToken)
    {
        List<NodeUnderTest> candidates = cluster.Nodes.Where(n => n.IsRunning && !n.IsPaused).ToList();
        int minority = (cluster.Nodes.Count - 1) / 2;
        switch (random.Next(3))
        {
            case 0:
                return ([candidates[random.Next(candidates.Count)]], "one node");
            case 1:
                return (candidates.OrderBy(_ => random.Next()).Take(minority).ToList(), "a minority");
            default:
                NodeUnderTest? leader = await cluster.FindLeaderAsync(cancellationToken).ConfigureAwait(false);
                return leader is null ? null : ([leader], "the leader");
        }
    }
}
