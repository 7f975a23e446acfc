using Google.Protobuf;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Server.Tests.Cluster;

/// <summary>Crashes, restarts and wiped disks on a real three-process cluster.</summary>
[Collection(ProcessCluster.Collection)]
public sealed class FailureTests
{
    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    [Fact]
    public async Task Killing_the_leader_elects_another_and_no_acknowledged_write_is_lost()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3);
        ClusterNode oldLeader = await cluster.WaitForLeaderAsync();
        var acknowledged = new Dictionary<string, long>();
        for (int i = 0; i < 20; i++)
        {
            var put = await cluster.SendToLeaderAsync<PutResponse>(new PutRequest { Key = B($"k{i}"), Value = B($"v{i}") });
            acknowledged[$"k{i}"] = put.Header.Revision;
        }

        oldLeader.Process!.KillNow();
        ClusterNode newLeader = await cluster.WaitForLeaderAsync();
        Assert.NotEqual(oldLeader, newLeader);
        for (int i = 20; i < 40; i++)
        {
            var put = await cluster.SendToLeaderAsync<PutResponse>(new PutRequest { Key = B($"k{i}"), Value = B($"v{i}") });
            acknowledged[$"k{i}"] = put.Header.Revision;
        }

        // The killed node comes back and catches up; every acknowledged write is on every node.
        cluster.Restart(oldLeader);
        await cluster.WaitForLeaderAsync();
        RangeResponse all = await cluster.SendToLeaderAsync<RangeResponse>(new RangeRequest { Key = B("k"), RangeEnd = B("l") });
        Assert.Equal(acknowledged.Count, all.Kvs.Count);
        foreach (KeyValue kv in all.Kvs)
        {
            Assert.Equal(acknowledged[kv.Key.ToStringUtf8()], kv.ModRevision);
        }

        var restarted = await cluster.ConnectAsync(oldLeader);
        await BasicOperationTests.WaitUntilAsync(async () =>
            (await restarted.RangeAsync(new RangeRequest { Key = B("k"), RangeEnd = B("l"), Serializable = true, CountOnly = true })).Count == acknowledged.Count);
    }

    [Fact]
    public async Task Stopping_and_restarting_the_whole_cluster_keeps_the_data()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3);
        long lastRevision = 0;
        for (int i = 0; i < 30; i++)
        {
            lastRevision = (await cluster.SendToLeaderAsync<PutResponse>(new PutRequest { Key = B($"r{i:D2}"), Value = B($"value {i}") })).Header.Revision;
        }

        await Task.WhenAll(cluster.Nodes.Select(n => n.Process!.StopAsync(TimeSpan.FromSeconds(10))));
        Assert.All(cluster.Nodes, n => Assert.Equal(0, n.Process!.ExitCode));
        foreach (ClusterNode node in cluster.Nodes)
        {
            cluster.Restart(node);
        }

        await cluster.WaitForLeaderAsync();
        RangeResponse all = await cluster.SendToLeaderAsync<RangeResponse>(new RangeRequest { Key = B("r"), RangeEnd = B("s") });
        Assert.Equal(30, all.Kvs.Count);
        Assert.Equal("value 29", all.Kvs[^1].Value.ToStringUtf8());
        Assert.Equal(lastRevision, all.Kvs[^1].ModRevision);
        Assert.True(all.Header.Revision >= lastRevision);
    }

    [Fact]
    public async Task A_follower_whose_data_directory_was_wiped_rejoins_as_a_learner_through_a_snapshot_and_is_promoted()
    {
        // Snapshot every 20 entries and keep only 5 behind it: the wiped follower needs entries
        // the leader no longer has, so only a snapshot can bring it back. A node that lost its
        // disk must not come back under its old identity (its promises, votes and log, are gone):
        // like etcd, it is removed and added again, first as a learner.
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3, "--snapshot-every-entries", "20", "--compaction-retain-entries", "5");
        ClusterNode leader = await cluster.WaitForLeaderAsync();
        ClusterNode follower = cluster.Nodes.First(n => n != leader);
        follower.Process!.KillNow();
        Directory.Delete(follower.DataDir, recursive: true);
        await cluster.SendToLeaderAsync<MemberRemoveResponse>(new MemberRemoveRequest { Id = follower.Id });

        for (int i = 0; i < 100; i++)
        {
            await cluster.SendToLeaderAsync<PutResponse>(new PutRequest { Key = B($"s{i:D3}"), Value = B($"value {i}") });
        }

        Assert.True(Directory.EnumerateFiles(Path.Combine(leader.DataDir, "snapshots")).Any(), "the leader took no snapshot");
        MemberAddResponse added = await cluster.SendToLeaderAsync<MemberAddResponse>(new MemberAddRequest { Name = follower.Name, PeerUrls = { follower.PeerUrl }, IsLearner = true });
        Assert.True(added.Member.IsLearner);
        cluster.Launch(follower, cluster.InitialCluster(cluster.Nodes), "existing");

        // Writes go on. The leader sends its latest snapshot, and only one taken after the learner
        // was added lists it in its configuration (a node refuses a snapshot of a configuration
        // without itself), so the learner catches up at the next snapshot, 20 entries on.
        for (int i = 100; i < 130; i++)
        {
            await cluster.SendToLeaderAsync<PutResponse>(new PutRequest { Key = B($"s{i:D3}"), Value = B($"value {i}") });
        }

        var client = await cluster.ConnectAsync(follower);
        try
        {
            await BasicOperationTests.WaitUntilAsync(async () =>
                (await client.RangeAsync(new RangeRequest { Key = B("s"), RangeEnd = B("t"), Serializable = true, CountOnly = true })).Count == 130);
        }
        catch (Xunit.Sdk.XunitException)
        {
            StatusResponse mine = await client.StatusAsync(new StatusRequest());
            StatusResponse theirs = await cluster.StatusAsync(leader);
            Assert.Fail($"the learner did not catch up: learner term {mine.RaftTerm} applied {mine.RaftAppliedIndex} leader {mine.Leader:x16}; leader commit {theirs.RaftCommitIndex}{Environment.NewLine}{cluster.Logs()}");
        }

        RangeResponse last = await client.RangeAsync(new RangeRequest { Key = B("s129"), Serializable = true });
        Assert.Equal("value 129", Assert.Single(last.Kvs).Value.ToStringUtf8());
        Assert.True(Directory.EnumerateFiles(Path.Combine(follower.DataDir, "snapshots")).Any(), "the follower holds no snapshot");

        // The restored learner knows every member (the member list travels in the snapshot) and is promoted.
        MemberListResponse members = await client.MemberListAsync(new MemberListRequest());
        Assert.Equal(3, members.Members.Count);
        MemberPromoteResponse promoted = await cluster.SendToLeaderAsync<MemberPromoteResponse>(new MemberPromoteRequest { Id = follower.Id });
        Assert.False(Assert.Single(promoted.Members, m => m.Id == follower.Id).IsLearner);
        await BasicOperationTests.WaitUntilAsync(async () => !(await client.StatusAsync(new StatusRequest())).IsLearner);
        await cluster.SendToLeaderAsync<PutResponse>(new PutRequest { Key = B("after-promotion"), Value = B("ok") });
        await BasicOperationTests.WaitUntilAsync(async () =>
            (await client.RangeAsync(new RangeRequest { Key = B("after-promotion"), Serializable = true })).Kvs.Count == 1);
    }
}
