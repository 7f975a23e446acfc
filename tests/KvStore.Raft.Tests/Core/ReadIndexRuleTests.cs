using System.Text;
using KvStore.Raft.Core;

namespace KvStore.Raft.Tests.Core;

public sealed class ReadIndexRuleTests
{
    private static byte[] B(string s) => RaftTestCluster.Bytes(s);

    private static string Ctx(ReadState rs) => Encoding.UTF8.GetString(rs.RequestContext.Span);

    [Fact]
    public void ReadIndexIsConfirmedByAHeartbeatQuorum()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c[1].Propose(B("a"));
        c.Stabilize();
        c.Isolate(2);
        c.Isolate(3);
        c[1].ReadIndex(B("r1"));
        c.Stabilize();
        // Without a quorum of acknowledgements the leader cannot know it is still leader.
        Assert.Empty(c.Get(1).ReadStates);
        c.Heal();
        c[1].ReadIndex(B("r2"));
        c.Stabilize();
        Assert.Equal(["r1", "r2"], c.Get(1).ReadStates.Select(Ctx));
        Assert.All(c.Get(1).ReadStates, rs => Assert.Equal(2, rs.Index));
    }

    [Fact]
    public void ReadIndexRequestsInOneRoundShareOneHeartbeat()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c.Trace = new StringBuilder();
        for (int i = 0; i < 5; i++)
        {
            c[1].ReadIndex(B($"r{i}"));
        }
        c.Stabilize();
        var heartbeats = c.Trace.ToString().Split('\n').Count(l => l.TrimStart().StartsWith("send 1->", StringComparison.Ordinal) && l.Contains("Heartbeat Term"));
        Assert.Equal(2, heartbeats); // one per follower, not one per read
        Assert.Equal(["r0", "r1", "r2", "r3", "r4"], c.Get(1).ReadStates.Select(Ctx));
    }

    [Fact]
    public void ReadIndexBeforeLeaderCommitsInItsTermIsQueuedNotDropped()
    {
        var c = RaftTestCluster.Create(3);
        c.Get(1).Node.Campaign();
        // Deliver only the votes: node 1 is leader but its empty entry of term 1 is not committed yet.
        while (c[1].Role != RaftRole.Leader)
        {
            c.HandleReady(1);
            c.Deliver(2);
            c.Deliver(3);
            c.HandleReady(2);
            c.HandleReady(3);
            c.Deliver(1);
        }
        Assert.Equal(0, c[1].CommitIndex);
        c[1].ReadIndex(B("early"));
        Assert.False(c.HandleReady(1) && c.Get(1).ReadStates.Count > 0);
        c.Stabilize();
        var rs = Assert.Single(c.Get(1).ReadStates);
        Assert.Equal("early", Ctx(rs));
        Assert.Equal(1, rs.Index);
    }

    [Fact]
    public void FollowerReadIndexIsForwardedAndAnswered()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c[1].Propose(B("a"));
        c.Stabilize();
        c[3].ReadIndex(B("from-3"));
        c.Stabilize();
        var rs = Assert.Single(c.Get(3).ReadStates);
        Assert.Equal("from-3", Ctx(rs));
        Assert.Equal(2, rs.Index);
        Assert.Empty(c.Get(1).ReadStates);
    }

    [Fact]
    public void ReadIndexWithoutLeaderIsDropped()
    {
        var c = RaftTestCluster.Create(3);
        var ex = Assert.Throws<ProposalDroppedException>(() => c[2].ReadIndex(B("r")));
        Assert.Equal(DropReason.NoLeader, ex.Reason);
    }

    [Fact]
    public void LeaseBasedReadIsAnsweredWithoutAHeartbeatRound()
    {
        var c = RaftTestCluster.Create(3, cfg => cfg with { CheckQuorum = true, ReadOnlyOption = ReadOnlyOption.LeaseBased });
        c.Elect(1);
        c.Isolate(2);
        c.Isolate(3);
        c[1].ReadIndex(B("lease"));
        c.HandleReady(1);
        var rs = Assert.Single(c.Get(1).ReadStates);
        Assert.Equal(1, rs.Index);
    }

    [Fact]
    public void SingleVoterAnswersReadIndexAtOnce()
    {
        var c = RaftTestCluster.Create(1);
        c.Elect(1);
        c[1].ReadIndex(B("solo"));
        c.HandleReady(1);
        Assert.Equal(1, Assert.Single(c.Get(1).ReadStates).Index);
    }
}
