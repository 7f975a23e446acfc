using KvStore.Raft.Core;

namespace KvStore.Raft.Tests.Core;

public sealed class ElectionRuleTests
{
    private static readonly ConfState ThreeVoters = new() { Voters = [1, 2, 3] };

    private static RaftNode NodeWithLog(ulong id, long[] terms, HardState hs, Func<RaftConfig, RaftConfig>? configure = null) =>
        LoneNode.WithLog(id, terms, hs, configure: configure);

    private static List<Message> Drain(RaftNode node) => LoneNode.Drain(node);

    /// <summary>A lone node whose log holds the given (term) entries from index 1 on, with the given hard state.</summary>
    [Fact]
    public void FollowerCampaignsAfterElectionTimeout()
    {
        var c = RaftTestCluster.Create(3);
        c.Tick(1, 2 * 10);
        Assert.Equal(RaftRole.Candidate, c[1].Role);
        Assert.Equal(1, c[1].Term);
        var votes = Drain(c[1]).Where(m => m.Type == MessageType.Vote).Select(m => m.To).ToList();
        Assert.Equal([2UL, 3UL], votes);
    }

    [Fact]
    public void ElectionTimeoutIsRandomizedBetweenOneAndTwoElectionTicks()
    {
        var seen = new HashSet<int>();
        for (ulong id = 1; id <= 30; id++)
        {
            var node = new RaftNode(RaftTestCluster.DefaultConfig(id) with { RandomSeed = id * 7 }, new MemoryRaftStorage(new ConfState { Voters = [id, 100] }));
            int ticks = 0;
            while (node.Role == RaftRole.Follower)
            {
                node.Tick();
                ticks++;
                Assert.True(ticks < 20, "a follower must campaign before 2 * ElectionTick");
            }
            Assert.InRange(ticks, 10, 19);
            seen.Add(ticks);
        }
        Assert.True(seen.Count > 3, "timeouts must differ between nodes, or split votes repeat forever");
    }

    [Fact]
    public void SameSeedGivesSameElectionTimeout()
    {
        int TicksToCampaign()
        {
            var node = new RaftNode(RaftTestCluster.DefaultConfig(1) with { RandomSeed = 42 }, new MemoryRaftStorage(new ConfState { Voters = [1, 2] }));
            int ticks = 0;
            while (node.Role == RaftRole.Follower)
            {
                node.Tick();
                ticks++;
            }
            return ticks;
        }
        Assert.Equal(TicksToCampaign(), TicksToCampaign());
    }

    [Fact]
    public void CandidateWithVotesFromMajorityBecomesLeader()
    {
        var c = RaftTestCluster.Create(3);
        Assert.Equal(1UL, c.Elect(1));
        Assert.Equal(RaftRole.Leader, c[1].Role);
        Assert.All(new ulong[] { 2, 3 }, id => Assert.Equal(1UL, c[id].Leader));
    }

    [Fact]
    public void CandidateWithoutMajorityDoesNotBecomeLeader()
    {
        var c = RaftTestCluster.Create(5);
        c.Isolate(1);
        c.Get(1).Node.Campaign();
        c.Stabilize();
        Assert.Equal(RaftRole.Candidate, c[1].Role);
    }

    [Fact]
    public void NewLeaderAppendsEmptyEntryOfItsTerm()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        var last = c.Get(1).Storage.Entries(1, 2, long.MaxValue).Single();
        Assert.Equal(1, last.Term);
        Assert.True(last.Data.IsEmpty);
        Assert.All(new ulong[] { 1, 2, 3 }, id => Assert.Equal(1, c[id].CommitIndex));
    }

    [Fact]
    public void EachNodeVotesAtMostOncePerTerm()
    {
        var node = NodeWithLog(1, [], new HardState(1, 2, 0));
        node.Step(new Message { Type = MessageType.Vote, From = 3, To = 1, Term = 1 });
        var response = Drain(node).Single(m => m.Type == MessageType.VoteResponse);
        Assert.True(response.Reject);
        node.Step(new Message { Type = MessageType.Vote, From = 2, To = 1, Term = 1 });
        Assert.False(Drain(node).Single(m => m.Type == MessageType.VoteResponse).Reject);
    }

    [Fact]
    public void VoteIsDeniedToCandidateWithStaleLog()
    {
        // Our last entry is 2/2. A candidate whose log ends at term 1 is less up to date however long it is (§5.4.1).
        var node = NodeWithLog(1, [1, 2], new HardState(2, 0, 0));
        node.Step(new Message { Type = MessageType.Vote, From = 2, To = 1, Term = 3, LogTerm = 1, Index = 5 });
        Assert.True(Drain(node).Single(m => m.Type == MessageType.VoteResponse).Reject);
        // Same last term but shorter: also stale.
        node.Step(new Message { Type = MessageType.Vote, From = 3, To = 1, Term = 4, LogTerm = 2, Index = 1 });
        Assert.True(Drain(node).Single(m => m.Type == MessageType.VoteResponse).Reject);
        node.Step(new Message { Type = MessageType.Vote, From = 3, To = 1, Term = 5, LogTerm = 2, Index = 2 });
        Assert.False(Drain(node).Single(m => m.Type == MessageType.VoteResponse).Reject);
        Assert.Equal(3UL, node.Vote);
    }

    [Fact]
    public void PlantedVoteWithoutLogCheckGrantsVoteToStaleCandidate()
    {
        var node = NodeWithLog(1, [1, 2], new HardState(2, 0, 0), configure: c => c with { PlantedBugs = PlantedBugs.VoteWithoutLogCheck });
        node.Step(new Message { Type = MessageType.Vote, From = 2, To = 1, Term = 3, LogTerm = 1, Index = 5 });
        Assert.False(Drain(node).Single(m => m.Type == MessageType.VoteResponse).Reject);
    }

    [Fact]
    public void HigherTermMakesLeaderStepDown()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c[1].Step(new Message { Type = MessageType.Append, From = 2, To = 1, Term = 5, Index = 1, LogTerm = 1 });
        Assert.Equal(RaftRole.Follower, c[1].Role);
        Assert.Equal(5, c[1].Term);
        Assert.Equal(2UL, c[1].Leader);
    }

    [Fact]
    public void MessageWithStaleTermIsIgnored()
    {
        var node = NodeWithLog(1, [1], new HardState(3, 0, 1));
        node.Step(new Message { Type = MessageType.Append, From = 2, To = 1, Term = 2, Index = 1, LogTerm = 1, Entries = [Entry.Normal(2, 2, RaftTestCluster.Bytes("x"))] });
        Assert.Equal(1, node.LastIndex);
        Assert.Equal(3, node.Term);
        Assert.Equal(0UL, node.Leader);
    }

    [Fact]
    public void StaleLeaderLearnsNewTermFromAppendResponse()
    {
        var c = RaftTestCluster.Create(3, cfg => cfg with { CheckQuorum = true, PreVote = true });
        c.Elect(1);
        c.Isolate(1);
        // Node 3 ignores pre-votes while its lease on leader 1 lasts; tick both until one of them leads.
        for (int i = 0; i < 100 && c[2].Role != RaftRole.Leader && c[3].Role != RaftRole.Leader; i++)
        {
            c.Tick(2);
            c.Tick(3);
            c.Stabilize();
        }
        ulong newLeader = c[2].Role == RaftRole.Leader ? 2UL : 3UL;
        Assert.Equal(RaftRole.Leader, c[newLeader].Role);
        c.Heal();
        // The old leader's heartbeat reaches followers of the new term; their answer deposes it.
        c.Tick(1, 1);
        c.Stabilize();
        Assert.Equal(RaftRole.Follower, c[1].Role);
        Assert.Equal(c[newLeader].Term, c[1].Term);
        c.Tick(newLeader, 1);
        c.Stabilize();
        Assert.Equal(newLeader, c[1].Leader);
    }

    [Fact]
    public void PreVoteDoesNotIncrementTerm()
    {
        var c = RaftTestCluster.Create(3, cfg => cfg with { PreVote = true });
        c.Elect(1);
        c.Isolate(3);
        c.Tick(3, 2 * 10);
        Assert.Equal(RaftRole.PreCandidate, c[3].Role);
        Assert.Equal(1, c[3].Term);
        c.Stabilize();
        c.Tick(3, 2 * 10);
        Assert.Equal(1, c[3].Term);
    }

    [Fact]
    public void PreVoteKeepsReturningNodeFromDisruptingLeader()
    {
        var c = RaftTestCluster.Create(3, cfg => cfg with { PreVote = true });
        c.Elect(1);
        c.Isolate(3);
        // The majority moves on without node 3, so its log is now behind theirs.
        c[1].Propose(RaftTestCluster.Bytes("while-3-was-away"));
        c.Stabilize();
        for (int i = 0; i < 5; i++)
        {
            c.Tick(3, 2 * 10);
            c.Stabilize();
        }
        c.Heal();
        c.Tick(3, 2 * 10);
        c.Stabilize();
        Assert.Equal(RaftRole.Leader, c[1].Role);
        Assert.Equal(1, c[1].Term);
        Assert.Equal(RaftRole.Follower, c[3].Role);
    }

    [Fact]
    public void PreCandidateWinningPreElectionCampaignsInNextTerm()
    {
        var c = RaftTestCluster.Create(3, cfg => cfg with { PreVote = true });
        c.Elect(1);
        Assert.Equal(1, c[1].Term);
        Assert.Equal(RaftRole.Leader, c[1].Role);
    }

    [Fact]
    public void CheckQuorumLeaderStepsDown()
    {
        var c = RaftTestCluster.Create(3, cfg => cfg with { CheckQuorum = true });
        c.Elect(1);
        c.Isolate(1);
        // The first check passes on the activity seen before the partition; the second finds nobody.
        for (int i = 0; i < 2 * 10; i++)
        {
            c.Tick(1);
            c.Stabilize();
        }
        Assert.Equal(RaftRole.Follower, c[1].Role);
        Assert.Equal(0UL, c[1].Leader);
    }

    [Fact]
    public void CheckQuorumLeaderWithQuorumStaysLeader()
    {
        var c = RaftTestCluster.Create(3, cfg => cfg with { CheckQuorum = true });
        c.Elect(1);
        c.Isolate(3);
        for (int i = 0; i < 30; i++)
        {
            c.Tick(1);
            c.Stabilize();
        }
        Assert.Equal(RaftRole.Leader, c[1].Role);
    }

    [Fact]
    public void FollowerWithLiveLeaderIgnoresVoteRequests()
    {
        var c = RaftTestCluster.Create(3, cfg => cfg with { CheckQuorum = true });
        c.Elect(1);
        // Node 3 campaigns on its own (e.g. a partition healed); node 2 still hears from leader 1.
        c[2].Step(new Message { Type = MessageType.Vote, From = 3, To = 2, Term = 2, LogTerm = 1, Index = 1 });
        Assert.DoesNotContain(Drain(c[2]), m => m.Type == MessageType.VoteResponse);
        Assert.Equal(1, c[2].Term);
        Assert.Equal(1UL, c[2].Leader);
    }

    [Fact]
    public void LearnerNeverCampaigns()
    {
        var storage = new MemoryRaftStorage(new ConfState { Voters = [1], Learners = [2] });
        var learner = new RaftNode(RaftTestCluster.DefaultConfig(2), storage);
        for (int i = 0; i < 100; i++)
        {
            learner.Tick();
        }
        Assert.Equal(RaftRole.Follower, learner.Role);
        Assert.Equal(0, learner.Term);
    }

    [Fact]
    public void SingleVoterElectsItselfAndCommits()
    {
        var c = RaftTestCluster.Create(1);
        c.Elect(1);
        c[1].Propose(RaftTestCluster.Bytes("a"));
        c.Stabilize();
        Assert.Equal(["a"], c.AppliedData(1));
    }

    [Fact]
    public void RestartedNodeRemembersTermAndVote()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c.Restart(2);
        Assert.Equal(1, c[2].Term);
        Assert.Equal(1UL, c[2].Vote);
        Assert.Equal(1, c[2].LastIndex);
    }

    [Fact]
    public void ConfigRejectsLeaseReadsWithoutCheckQuorum()
    {
        var ex = Assert.Throws<ArgumentException>(() => new RaftNode(
            RaftTestCluster.DefaultConfig(1) with { ReadOnlyOption = ReadOnlyOption.LeaseBased, CheckQuorum = false },
            new MemoryRaftStorage(ThreeVoters)));
        Assert.Contains("CheckQuorum", ex.Message);
    }

    [Fact]
    public void VoteIsPersistedBeforeTheResponseIsSent()
    {
        var node = NodeWithLog(1, [], new HardState(0, 0, 0));
        node.Step(new Message { Type = MessageType.Vote, From = 2, To = 1, Term = 1 });
        var rd = node.GetReady();
        // The grant and the vote that must be durable before it leaves travel in the same Ready, with MustSync.
        Assert.False(rd.Messages.Single().Reject);
        Assert.Equal(new HardState(1, 2, 0), rd.HardState);
        Assert.True(rd.MustSync);
        node.Advance();
    }

    [Fact]
    public void CandidateStepsDownOnAppendFromLeaderOfSameTerm()
    {
        var c = RaftTestCluster.Create(3);
        c.Get(2).Node.Campaign();
        Assert.Equal(RaftRole.Candidate, c[2].Role);
        c[2].Step(new Message { Type = MessageType.Append, From = 3, To = 2, Term = 1, Index = 0, LogTerm = 0 });
        Assert.Equal(RaftRole.Follower, c[2].Role);
        Assert.Equal(3UL, c[2].Leader);
        Assert.Equal(1, c[2].Term);
    }

    [Fact]
    public void RestartedNodeWithUnappliedConfChangeDoesNotCampaign()
    {
        // A committed but unapplied conf change may change who the voters are: counting votes now could be wrong.
        var storage = new MemoryRaftStorage(new ConfState { Voters = [1, 2] });
        storage.Append([
            Entry.Normal(1, 1, ReadOnlyMemory<byte>.Empty),
            new Entry(2, 1, EntryType.ConfChange, ConfChangeCodec.Encode(new ConfChange { Changes = [new(ConfChangeType.RemoveNode, 2)] })),
        ]);
        storage.SetHardState(new HardState(1, 1, 2));
        var node = new RaftNode(RaftTestCluster.DefaultConfig(1), storage);
        for (int i = 0; i < 40; i++)
        {
            node.Tick();
        }
        Assert.Equal(RaftRole.Follower, node.Role);
        var rd = node.GetReady();
        node.ApplyConfChange(ConfChangeCodec.Decode(rd.CommittedEntries[1].Data.Span));
        node.Advance();
        for (int i = 0; i < 40; i++)
        {
            node.Tick();
        }
        Assert.Equal(RaftRole.Leader, node.Role);
    }

    [Fact]
    public void TermNeverDecreases()
    {
        var node = NodeWithLog(1, [1], new HardState(5, 0, 1));
        node.Step(new Message { Type = MessageType.Heartbeat, From = 2, To = 1, Term = 3, Commit = 1 });
        Assert.Equal(5, node.Term);
    }
}
