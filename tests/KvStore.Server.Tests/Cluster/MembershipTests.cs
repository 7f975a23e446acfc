using System.Collections.Concurrent;
using Google.Protobuf;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Server.Tests.Cluster;

/// <summary>Adding (learner, then promotion) and removing members of a live cluster while a client keeps writing.</summary>
[Collection(ProcessCluster.Collection)]
public sealed class MembershipTests
{
    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    [Fact]
    public async Task A_member_is_added_as_learner_promoted_and_another_removed_while_writes_go_on()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3);
        ClusterNode leader = await cluster.WaitForLeaderAsync();
        var acknowledged = new ConcurrentDictionary<string, long>();
        using var stop = new CancellationTokenSource();
        Task writer = Task.Run(async () =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                PutResponse put = await cluster.SendToLeaderAsync<PutResponse>(new PutRequest { Key = B($"m{i:D5}"), Value = B($"value {i}") });
                acknowledged[$"m{i:D5}"] = put.Header.Revision;
            }
        });

        // Add n4 as a learner and start it; it catches up from the leader.
        ClusterNode added = cluster.NewNode("n4");
        MemberAddResponse add = await cluster.SendToLeaderAsync<MemberAddResponse>(new MemberAddRequest { Name = added.Name, PeerUrls = { added.PeerUrl }, ClientUrls = { added.ClientUrl }, IsLearner = true });
        Assert.Equal(added.Id, add.Member.Id);
        Assert.Equal(4, add.Members.Count);
        Assert.Equal([added.ClientUrl], add.Member.ClientUrls);

        // Not started yet, so it has nothing of the log: promoting it now is refused (etcd's rule).
        await using (var toLeader = await cluster.ConnectAsync(await cluster.WaitForLeaderAsync()))
        {
            var early = await Assert.ThrowsAsync<KvStore.Client.KvStoreProtocolException>(() => toLeader.MemberPromoteAsync(new MemberPromoteRequest { Id = added.Id }));
            Assert.Equal(ErrorCode.Unavailable, early.Code);
            Assert.Contains("has not caught up", early.Message);
        }

        cluster.Launch(added, cluster.InitialCluster(cluster.Nodes), "existing");
        var learner = await cluster.ConnectAsync(added);
        await BasicOperationTests.WaitUntilAsync(async () =>
            (await learner.RangeAsync(new RangeRequest { Key = B("m"), RangeEnd = B("n"), Serializable = true, CountOnly = true })).Count >= 5);
        await BasicOperationTests.WaitUntilAsync(async () => (await learner.StatusAsync(new StatusRequest())).IsLearner);

        // A non-leader redirects membership requests instead of judging them by its own directory,
        // which may lag the log (found by kvstore-jepsen's member nemesis).
        var redirected = await Assert.ThrowsAsync<KvStore.Client.NotLeaderException>(() => learner.MemberPromoteAsync(new MemberPromoteRequest { Id = added.Id }));
        Assert.Equal(leader.ClientUrl, redirected.LeaderHint);
        await Assert.ThrowsAsync<KvStore.Client.NotLeaderException>(() => learner.MemberAddAsync(new MemberAddRequest { Name = added.Name, PeerUrls = { added.PeerUrl } }));

        await cluster.SendToLeaderAsync<MemberPromoteResponse>(new MemberPromoteRequest { Id = added.Id });
        await BasicOperationTests.WaitUntilAsync(async () => !(await learner.StatusAsync(new StatusRequest())).IsLearner);

        // Remove a follower that is not the new member, and stop it.
        ClusterNode removed = cluster.Nodes.First(n => n != leader && n != added);
        MemberRemoveResponse remove = await cluster.SendToLeaderAsync<MemberRemoveResponse>(new MemberRemoveRequest { Id = removed.Id });
        Assert.DoesNotContain(remove.Members, m => m.Id == removed.Id);
        await removed.Process!.StopAsync(TimeSpan.FromSeconds(10));
        cluster.Forget(removed);

        await Task.Delay(1000);
        stop.Cancel();
        await writer;
        Assert.True(acknowledged.Count > 10, $"only {acknowledged.Count} writes were acknowledged");

        // Every acknowledged write is in the cluster of n1..n4 minus the removed member.
        RangeResponse all = await cluster.SendToLeaderAsync<RangeResponse>(new RangeRequest { Key = B("m"), RangeEnd = B("n") });
        Dictionary<string, long> stored = all.Kvs.ToDictionary(kv => kv.Key.ToStringUtf8(), kv => kv.ModRevision);
        foreach ((string key, long revision) in acknowledged)
        {
            Assert.Equal(revision, stored[key]);
        }

        MemberListResponse members = await learner.MemberListAsync(new MemberListRequest());
        Assert.Equal(3, members.Members.Count);
        Assert.Contains(members.Members, m => m.Id == added.Id && !m.IsLearner && m.ClientUrls.Contains(added.ClientUrl));
        await BasicOperationTests.WaitUntilAsync(async () =>
            (await learner.RangeAsync(new RangeRequest { Key = B("m"), RangeEnd = B("n"), Serializable = true, CountOnly = true })).Count >= acknowledged.Count);
    }
}
