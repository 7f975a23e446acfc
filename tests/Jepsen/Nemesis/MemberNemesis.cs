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
            // Member calls go to the leader's endpoint only: a follower whose member directory lags
            // the log answers "already exists" / "no member" instead of redirecting (see
            // docs/fault-injection.md, "Bugs found").
            await WithLeaderAsync(cluster, node, (client, token) => client.MemberAddAsync(node.Name, [node.ProxiedPeerUrl], [node.ClientUrl], isLearner: true, token), cancellationToken).ConfigureAwait(false);
            cluster.Launch(node, "existing");
            node.IsRemoved = false;

            // Promotion is refused until the learner has caught up; an empty node replays the whole log.
            await WithLeaderAsync(cluster, node, (client, token) => client.MemberPromoteAsync(node.Id, token), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Calls <paramref name="call"/> on the current leader, retrying for up to a minute.</summary>
    private static async Task WithLeaderAsync<T>(ClusterUnderTest cluster, NodeUnderTest subject, Func<KvStoreClient, CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (true)
        {
            NodeUnderTest? leader = await cluster.FindLeaderAsync(cancellationToken).ConfigureAwait(false);
            if (leader is not null && leader != subject)
            {
                await using var client = new KvStoreClient(new KvStoreClientOptions { Endpoints = [leader.ClientUrl], RequestTimeout = CallTimeout });
                try
                {
                    await call(client, cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (KvStoreException) when (DateTime.UtcNow < deadline)
                {
                    // Leadership moved, a conf change is pending, or the learner is still behind.
                }
            }
            else if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException($"member nemesis: no leader to ask about {subject} within a minute");
            }

            await Task.Delay(500, cancellationToken).ConfigureAwait(false);
        }
    }
}
