using KvStore.Raft.Core;

namespace KvStore.Raft.Tests.Core;

/// <summary>
/// Dissertation §10.2.1: the leader may send its Appends before its own entries are on disk, but it
/// counts itself toward a commit quorum only for entries it has persisted.
/// </summary>
public sealed class EarlyAppendRuleTests
{
    private static byte[] B(string s) => RaftTestCluster.Bytes(s);

    [Fact]
    public void LeaderAppendsMaySendBeforePersistingButResponsesMayNot()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c[1].Propose(B("x"));

        var leaderReady = c[1].GetReady();
        Assert.Equal(2, Assert.Single(leaderReady.Entries).Index);
        Assert.Equal([2UL, 3UL], leaderReady.EarlyMessages.Where(m => m.Type == MessageType.Append).Select(m => m.To).Order());
        Assert.DoesNotContain(leaderReady.Messages, m => m.Type == MessageType.Append);

        // The follower's acknowledgement vouches for its disk: it waits for the follower's persistence.
        c.Get(2).Node.Step(leaderReady.EarlyMessages.First(m => m.To == 2));
        var followerReady = c[2].GetReady();
        Assert.Empty(followerReady.EarlyMessages);
        Assert.Contains(followerReady.Messages, m => m.Type == MessageType.AppendResponse && m.Index == 2);
    }

    [Fact]
    public void LeaderDoesNotCountItsOwnEntryUntilTheHostPersistedIt()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c[1].Propose(B("x"));
        var leaderReady = c[1].GetReady();

        // Follower 2 persists and acknowledges index 2 while the leader's own write is still in flight.
        c.Get(2).Node.Step(leaderReady.EarlyMessages.First(m => m.To == 2));
        c.HandleReady(2);
        var ack = Assert.Single(c.Get(1).Inbox, m => m.Type == MessageType.AppendResponse);
        c[1].Step(ack);

        // One follower and an unpersisted leader are not a quorum of disks: if the leader crashed now,
        // only one copy of "x" would survive, so it must not be committed yet.
        Assert.Equal(1, c[1].CommitIndex);

        c.Get(1).Storage.Append(leaderReady.Entries);
        c[1].Advance();

        Assert.Equal(2, c[1].CommitIndex);
    }

    [Fact]
    public void LeaderCrashingBeforePersistingLosesNothingCommitted()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c[1].Propose(B("x"));
        var leaderReady = c[1].GetReady();
        c.Get(2).Node.Step(leaderReady.EarlyMessages.First(m => m.To == 2));
        c.HandleReady(2);
        c[1].Step(Assert.Single(c.Get(1).Inbox, m => m.Type == MessageType.AppendResponse));
        long committedBeforeCrash = c[1].CommitIndex;

        // The leader crashes before its write reaches the disk: "x" survives only on node 2.
        c.Restart(1);
        c.Heal();
        c.Elect(2);
        c.Stabilize();

        Assert.Equal(1, committedBeforeCrash);
        // What node 2 holds is committed by its own leadership; nothing the old leader committed was lost.
        Assert.All(new ulong[] { 1, 2, 3 }, id => Assert.Equal(["x"], c.AppliedData(id)));
    }
}
