using System.Text.Json;
using KvStore.Client;
using KvStore.Jepsen.Cluster;
using KvStore.Jepsen.Faults;

namespace KvStore.Jepsen.Tests.Harness;

/// <summary>
/// Regression: a snapshot carries its sender's member directory. When each node was started naming
/// itself at its real peer port, a follower that installed the leader's snapshot learned the
/// leader's real port and could dial around the fault proxy, so the harness had to disable
/// snapshots. Now every node advertises its proxy (--peer-url) and binds its real port
/// (--listen-peer-url): a node restored from a snapshot is still cut off by a partition.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class SnapshotThroughProxyTests
{
    private static readonly LinkFault Cut = new(Cut: true, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_node_restored_from_a_snapshot_still_reaches_its_peers_only_through_their_proxies()
    {
        string output = Path.Combine(Path.GetTempPath(), $"kvstore-jepsen-snapshot-{Guid.NewGuid():N}");
        try
        {
            var settings = new ClusterSettings { SnapshotEveryEntries = 50 };
            await using ClusterUnderTest cluster = await ClusterUnderTest.StartAsync(3, output, seed: 7, settings, TextWriter.Null, CancellationToken.None);
            NodeUnderTest leader = await LeaderAsync(cluster);
            NodeUnderTest lagging = cluster.Nodes.First(n => n != leader);
            List<NodeUnderTest> others = cluster.Nodes.Where(n => n != lagging).ToList();

            // Down while the others write far past their snapshot interval and compaction, it can
            // only catch up by installing a snapshot.
            cluster.Kill(lagging);
            await using (KvStoreClient writer = Client(others))
            {
                for (int i = 0; i < 400; i++)
                {
                    await writer.PutAsync($"k{i}", "v");
                }
            }

            cluster.Launch(lagging);
            await using KvStoreClient local = Client([lagging]);
            await EventuallyAsync(async () => await local.GetAsync("k399", new() { Serializable = true }) is not null, "the restarted node never caught up");

            foreach (NodeUnderTest node in cluster.Nodes)
            {
                using JsonDocument members = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(node.DataDirectory, "members.json")));
                foreach (JsonElement member in members.RootElement.EnumerateArray())
                {
                    NodeUnderTest named = cluster.Nodes.Single(n => n.Name == member.GetProperty("name").GetString());
                    Assert.Equal(named.ProxiedPeerUrl, member.GetProperty("peerUrl").GetString());
                }
            }

            // Cut off at the proxies, it must not see what the majority writes meanwhile.
            foreach (NodeUnderTest other in others)
            {
                cluster.Faults.Set(lagging.Id, other.Id, Cut);
                cluster.Faults.Set(other.Id, lagging.Id, Cut);
            }

            await using (KvStoreClient writer = Client(others))
            {
                await writer.PutAsync("during-partition", "v");
            }

            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.Null(await local.GetAsync("during-partition", new() { Serializable = true }));

            cluster.Faults.Clear();
            await EventuallyAsync(async () => await local.GetAsync("during-partition", new() { Serializable = true }) is not null, "the healed node never caught up");
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    private static KvStoreClient Client(IEnumerable<NodeUnderTest> nodes) =>
        new(new KvStoreClientOptions { Endpoints = nodes.Select(n => n.ClientUrl).ToList(), RequestTimeout = TimeSpan.FromSeconds(10) });

    private static async Task<NodeUnderTest> LeaderAsync(ClusterUnderTest cluster)
    {
        NodeUnderTest? leader = null;
        await EventuallyAsync(async () => (leader = await cluster.FindLeaderAsync(CancellationToken.None)) is not null, "no leader");
        return leader!;
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string failure)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (KvStoreException) when (DateTime.UtcNow < deadline)
            {
                // Not reachable or not ready yet.
            }

            Assert.True(DateTime.UtcNow < deadline, failure + " within 60 s");
            await Task.Delay(200);
        }
    }
}
