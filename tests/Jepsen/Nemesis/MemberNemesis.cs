using KvStore.Client;
using KvStore.Jepsen.Cluster;

namespace KvStore.Jepsen.Nemesis;

/// <summary>
/// Membership churn through the member API: remove a node (any, the leader included), stop it and
/// wipe its data; healing adds it back as a learner with an empty data directory, starts it with
/// <c>--initial-cluster-state existing</c>, and promotes it to voter once it has caught up.
/// </summary>
public sealed class MemberNemesis : INemesis
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    public string Name => "member";

    public async Task<IActiveFault?> InjectAsync(ClusterUnderTest cluster, Random random, CancellationToken cancellationToken)
    {
        List<NodeUnderTest> members = cluster.Nodes.Where(n => !n.IsRemoved).ToList();
        if (members.Count < 3 || members.Any(n => !n.IsRunning || n.IsPaused))
        {
            return null;
        }

        NodeUnderTest victim = members[random.Next(members.Count)];
        await using KvStoreClient client = Client(cluster, victim);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CallTimeout);
        try
        {
            await client.MemberRemoveAsync(victim.Id, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is KvStoreException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // The removal may or may not have been committed: leave the cluster as it is and try again later.
            return null;
        }

        victim.IsRemoved = true;
        cluster.Kill(victim);
        Directory.Delete(victim.DataDirectory, recursive: true);
        return new Removed(cluster, victim, $"remove member {victim}");
    }

    private static KvStoreClient Client(ClusterUnderTest cluster, NodeUnderTest except) =>
        new(new KvStoreClientOptions
        {
            Endpoints = cluster.Nodes.Where(n => n != except && !n.IsRemoved).Select(n => n.ClientUrl).ToList(),
            RequestTimeout = CallTimeout,
        });

    private sealed class Removed(ClusterUnderTest cluster, NodeUnderTest node, string description) : IActiveFault
    {
        public string Description => description;

        public async Task HealAsync(CancellationToken cancellationToken)
        {
            await using KvStoreClient client = Client(cluster, node);
            for (int attempt = 0; attempt < 20; attempt++)
            {
                try
                {
                    await client.MemberAddAsync(node.Name, [node.ProxiedPeerUrl], [node.ClientUrl], isLearner: true, cancellationToken).ConfigureAwait(false);
                    break;
                }
                catch (KvStoreException) when (attempt < 19)
                {
                    // An election or a pending conf change: try again.
                    await Task.Delay(500, cancellationToken).ConfigureAwait(false);
                }
            }

            cluster.Launch(node, "existing");
            node.IsRemoved = false;
            for (int attempt = 0; attempt < 60; attempt++)
            {
                try
                {
                    await client.MemberPromoteAsync(node.Id, cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (KvStoreException) when (attempt < 59)
                {
                    // Not caught up yet.
                    await Task.Delay(500, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }
}
