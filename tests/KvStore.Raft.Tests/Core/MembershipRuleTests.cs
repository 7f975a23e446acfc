using KvStore.Raft.Core;

namespace KvStore.Raft.Tests.Core;

public sealed class MembershipRuleTests
{
    private static byte[] B(string s) => RaftTestCluster.Bytes(s);

    private static ConfChange Change(params ConfChangeSingle[] changes) => new() { Changes = changes };

    private static ConfChangeSingle Voter(ulong id) => new(ConfChangeType.AddVoter, id);
    private static ConfChangeSingle Learner(ulong id) => new(ConfChangeType.AddLearner, id);
    private static ConfChangeSingle Remove(ulong id) => new(ConfChangeType.RemoveNode, id);

    private static void AddJoiner(RaftTestCluster c, ulong id) => c.AddJoiner(RaftTestCluster.DefaultConfig(id));

    [Fact]
    public void LearnerReceivesEntriesButNeverCountsForCommit()
    {
        var c = RaftTestCluster.Create(1);
        c.Elect(1);
        AddJoiner(c, 2);
        c[1].ProposeConfChange(Change(Learner(2)));
        c.Stabilize();
        Assert.Equal([2UL], c[1].ConfState.Learners);
        c[1].Propose(B("a"));
        c.Stabilize();
        Assert.Equal(["a"], c.AppliedData(2));
        // Cut the learner off: the single voter still commits alone, the learner was never needed.
        c.Isolate(2);
        c[1].Propose(B("b"));
        c.Stabilize();
        Assert.Equal(["a", "b"], c.AppliedData(1));
        // And the learner never campaigns.
        c.Tick(2, 50);
        Assert.Equal(RaftRole.Follower, c[2].Role);
    }

    [Fact]
    public void PromotedLearnerBecomesVoterAndCountsForQuorum()
    {
        var c = RaftTestCluster.Create(1);
        c.Elect(1);
        AddJoiner(c, 2);
        c[1].ProposeConfChange(Change(Learner(2)));
        c.Stabilize();
        c[1].ProposeConfChange(Change(Voter(2)));
        c.Stabilize();
        Assert.Equal([1UL, 2UL], c[1].ConfState.Voters);
        Assert.Empty(c[1].ConfState.Learners);
        // With two voters, the leader alone is no longer a majority.
        c.Isolate(2);
        c[1].Propose(B("needs-2"));
        c.Stabilize();
        Assert.Empty(c.AppliedData(1));
        c.Heal();
        c.Tick(1, 1);
        c.Stabilize();
        Assert.Equal(["needs-2"], c.AppliedData(1));
    }

    [Fact]
    public void OnlyOneConfChangeMayBePending()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c[1].ProposeConfChange(Change(Learner(4)));
        var ex = Assert.Throws<ProposalDroppedException>(() => c[1].ProposeConfChange(Change(Learner(5))));
        Assert.Equal(DropReason.ConfChangePending, ex.Reason);
        AddJoiner(c, 4);
        c.Stabilize();
        c[1].ProposeConfChange(Change(Learner(5)));
    }

    [Fact]
    public void NewLeaderCommitsEntryOfItsTermBeforeAnyConfChange()
    {
        var c = RaftTestCluster.Create(3);
        c.Get(1).Node.Campaign();
        while (c[1].Role != RaftRole.Leader)
        {
            c.HandleReady(1);
            c.Deliver(2);
            c.Deliver(3);
            c.HandleReady(2);
            c.HandleReady(3);
            c.Deliver(1);
        }
        var ex = Assert.Throws<ProposalDroppedException>(() => c[1].ProposeConfChange(Change(Learner(4))));
        Assert.Equal(DropReason.ConfChangePending, ex.Reason);
        c.Stabilize();
        c[1].ProposeConfChange(Change(Learner(4)));
    }

    [Fact]
    public void JointChangeNeedsMajorityOfOldAndNewVoters()
    {
        // Old {1,2,3}, new {1,4,5}: {1,2,3} acknowledging is a majority of the old voters only.
        var incoming = new SortedSet<ulong> { 1, 4, 5 };
        var outgoing = new SortedSet<ulong> { 1, 2, 3 };
        var match = new Dictionary<ulong, long> { [1] = 10, [2] = 10, [3] = 10, [4] = 5, [5] = 0 };
        Assert.Equal(5, Quorum.JointCommittedIndex(incoming, outgoing, id => match[id]));
        Assert.Equal(VoteResult.Pending, Quorum.JointResult(incoming, outgoing, id => id <= 3 ? true : null));
        Assert.Equal(VoteResult.Won, Quorum.JointResult(incoming, outgoing, id => id is 1 or 2 or 4 ? true : null));
        Assert.Equal(VoteResult.Lost, Quorum.JointResult(incoming, outgoing, id => id is 4 or 5 ? false : true));
    }

    [Fact]
    public void JointChangeIsEnteredThenLeftAutomatically()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        AddJoiner(c, 4);
        AddJoiner(c, 5);
        c[1].ProposeConfChange(Change(Voter(4), Voter(5), Remove(3)));
        c.Stabilize();
        var cs = c[1].ConfState;
        Assert.False(cs.IsJoint);
        Assert.Equal([1UL, 2UL, 4UL, 5UL], cs.Voters);
        Assert.All(new ulong[] { 1, 2, 4, 5 }, id => Assert.Equal(cs.Voters, c[id].ConfState.Voters));
    }

    [Fact]
    public void ExplicitJointChangeStaysJointUntilLeft()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        AddJoiner(c, 4);
        c[1].ProposeConfChange(new ConfChange { Changes = [Voter(4), Remove(3)], AutoLeave = false });
        c.Stabilize();
        Assert.True(c[1].ConfState.IsJoint);
        Assert.Equal([1UL, 2UL, 3UL], c[1].ConfState.VotersOutgoing);
        var ex = Assert.Throws<ProposalDroppedException>(() => c[1].ProposeConfChange(Change(Learner(6))));
        Assert.Equal(DropReason.ConfChangePending, ex.Reason);
        c[1].ProposeConfChange(new ConfChange());
        c.Stabilize();
        Assert.False(c[1].ConfState.IsJoint);
        Assert.Equal([1UL, 2UL, 4UL], c[1].ConfState.Voters);
    }

    [Fact]
    public void SimpleChangeOfTwoVotersIsRefused()
    {
        // Two configurations differing by two voters may have disjoint majorities (§4.1): that takes joint consensus.
        var tracker = new ProgressTracker(4, 0);
        var (cfg, prs) = ConfChanger.Restore(new ConfState { Voters = [1, 2, 3] }, tracker, 0);
        tracker.Switch(cfg, prs);
        var ex = Assert.Throws<ArgumentException>(() => new ConfChanger(tracker, 0).Simple([Remove(2), Remove(3)]));
        Assert.Contains("joint", ex.Message);
    }

    [Fact]
    public void ChangeRemovingAllVotersIsRefused()
    {
        var c = RaftTestCluster.Create(1);
        c.Elect(1);
        Assert.Throws<ArgumentException>(() => c[1].ProposeConfChange(Change(Remove(1))));
    }

    [Fact]
    public void RemovedLeaderStepsDownAndTheRestElectANewLeader()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c[1].ProposeConfChange(Change(Remove(1)));
        c.Stabilize();
        Assert.Equal(RaftRole.Follower, c[1].Role);
        Assert.Equal([2UL, 3UL], c[2].ConfState.Voters);
        for (int i = 0; i < 40 && c[2].Role != RaftRole.Leader && c[3].Role != RaftRole.Leader; i++)
        {
            c.TickAll();
            c.Stabilize();
        }
        ulong leader = c[2].Role == RaftRole.Leader ? 2UL : 3UL;
        Assert.Equal(RaftRole.Leader, c[leader].Role);
        Assert.NotEqual(RaftRole.Leader, c[1].Role);
        c[leader].Propose(B("after-removal"));
        c.Stabilize();
        Assert.Equal(["after-removal"], c.AppliedData(leader));
    }

    [Fact]
    public void DemotingAVoterInJointConfigurationMakesItALearnerOnLeave()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c[1].ProposeConfChange(new ConfChange { Changes = [Learner(3)], UseJoint = true });
        c.Stabilize();
        var cs = c[1].ConfState;
        Assert.False(cs.IsJoint);
        Assert.Equal([1UL, 2UL], cs.Voters);
        Assert.Equal([3UL], cs.Learners);
    }
}
