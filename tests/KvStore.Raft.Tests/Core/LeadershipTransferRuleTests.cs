using KvStore.Raft.Core;

namespace KvStore.Raft.Tests.Core;

public sealed class LeadershipTransferRuleTests
{
    private static byte[] B(string s) => RaftTestCluster.Bytes(s);

    [Fact]
    public void TransferToUpToDateFollowerHandsOverLeadership()
    {
        var c = RaftTestCluster.Create(3, cfg => cfg with { PreVote = true, CheckQuorum = true });
        c.Elect(1);
        c[1].TransferLeadership(2);
        c.Stabilize();
        Assert.Equal(RaftRole.Leader, c[2].Role);
        Assert.Equal(2, c[2].Term);
        Assert.Equal(2UL, c[1].Leader);
        Assert.Equal(2UL, c[3].Leader);
    }

    [Fact]
    public void LaggingTransfereeIsBroughtUpToDateFirst()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c.Isolate(3);
        c[1].Propose(B("a"));
        c[1].Propose(B("b"));
        c.Stabilize();
        c.Heal();
        c[1].TransferLeadership(3);
        c.Stabilize();
        Assert.Equal(RaftRole.Leader, c[3].Role);
        Assert.Equal(["a", "b"], c.AppliedData(3));
    }

    [Fact]
    public void ProposalsAreRefusedDuringTransfer()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c.Isolate(3);
        c[1].TransferLeadership(3);
        var ex = Assert.Throws<ProposalDroppedException>(() => c[1].Propose(B("x")));
        Assert.Equal(DropReason.LeadershipTransferInProgress, ex.Reason);
    }

    [Fact]
    public void TransferIsAbortedAfterOneElectionTimeout()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c.Isolate(3);
        c[1].TransferLeadership(3);
        c.Stabilize();
        Assert.Equal(3UL, c[1].Status().LeadTransferee);
        for (int i = 0; i < 10; i++)
        {
            c.Tick(1);
            c.Stabilize();
        }
        Assert.Equal(0UL, c[1].Status().LeadTransferee);
        Assert.Equal(RaftRole.Leader, c[1].Role);
        c[1].Propose(B("accepted-again"));
        c.Stabilize();
        Assert.Equal(["accepted-again"], c.AppliedData(2));
    }

    [Fact]
    public void FollowerCanAskToBecomeLeader()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c[2].TransferLeadership(2);
        c.Stabilize();
        Assert.Equal(RaftRole.Leader, c[2].Role);
    }

    [Fact]
    public void TransferToLearnerIsIgnored()
    {
        var storage1 = new ConfState { Voters = [1, 2], Learners = [3] };
        var c = new RaftTestCluster();
        foreach (ulong id in new ulong[] { 1, 2, 3 })
        {
            c.Add(RaftTestCluster.DefaultConfig(id), storage1);
        }
        c.Elect(1);
        c[1].TransferLeadership(3);
        c.Stabilize();
        Assert.Equal(RaftRole.Leader, c[1].Role);
        Assert.Equal(0UL, c[1].Status().LeadTransferee);
    }
}
