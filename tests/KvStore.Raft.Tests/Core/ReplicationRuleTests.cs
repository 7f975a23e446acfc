using KvStore.Raft.Core;

namespace KvStore.Raft.Tests.Core;

public sealed class ReplicationRuleTests
{
    private static byte[] B(string s) => RaftTestCluster.Bytes(s);

    [Fact]
    public void LeaderReplicatesAndEveryNodeAppliesInOrder()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        foreach (var v in new[] { "a", "b", "c" })
        {
            c[1].Propose(B(v));
        }
        c.Stabilize();
        Assert.All(new ulong[] { 1, 2, 3 }, id => Assert.Equal(["a", "b", "c"], c.AppliedData(id)));
        Assert.All(new ulong[] { 1, 2, 3 }, id => Assert.Equal(4, c[id].CommitIndex));
    }

    [Fact]
    public void EntryCommitsOnceAMajorityHasIt()
    {
        var c = RaftTestCluster.Create(5);
        c.Elect(1);
        c.Isolate(4);
        c.Isolate(5);
        c[1].Propose(B("x"));
        c.Stabilize();
        Assert.Equal(2, c[1].CommitIndex);
        Assert.Equal(["x"], c.AppliedData(2));
        Assert.Empty(c.AppliedData(4));
    }

    [Fact]
    public void EntryWithoutMajorityDoesNotCommit()
    {
        var c = RaftTestCluster.Create(5);
        c.Elect(1);
        c.Isolate(3);
        c.Isolate(4);
        c.Isolate(5);
        c[1].Propose(B("x"));
        c.Stabilize();
        Assert.Equal(1, c[1].CommitIndex);
        Assert.Empty(c.AppliedData(1));
    }

    [Fact]
    public void LeaderCommitsOnlyEntriesOfItsOwnTermByCounting()
    {
        // Figure 8: the leader of term 3 holds 2/2 from an earlier term. Even once a majority has index 2,
        // it may not commit it by counting replicas; only its own 3/3 entry reaching a majority commits both.
        var leader = LeaderOfTerm3WithEntryOfTerm2(PlantedBugs.None);
        leader.Step(new Message { Type = MessageType.AppendResponse, From = 2, To = 1, Term = 3, Index = 2 });
        Assert.Equal(1, leader.CommitIndex);
        leader.Step(new Message { Type = MessageType.AppendResponse, From = 2, To = 1, Term = 3, Index = 3 });
        Assert.Equal(3, leader.CommitIndex);
    }

    [Fact]
    public void PlantedCommitPreviousTermByCountCommitsEarlierTermEntry()
    {
        var leader = LeaderOfTerm3WithEntryOfTerm2(PlantedBugs.CommitPreviousTermByCount);
        leader.Step(new Message { Type = MessageType.AppendResponse, From = 2, To = 1, Term = 3, Index = 2 });
        Assert.Equal(2, leader.CommitIndex);
    }

    private static RaftNode LeaderOfTerm3WithEntryOfTerm2(PlantedBugs bugs)
    {
        var node = LoneNode.WithLog(1, [1, 2], new HardState(2, 0, 1), configure: c => c with { PlantedBugs = bugs });
        node.Campaign();
        node.Step(new Message { Type = MessageType.VoteResponse, From = 2, To = 1, Term = 3 });
        Assert.Equal(RaftRole.Leader, node.Role);
        Assert.Equal(3, node.LastIndex);
        LoneNode.Drain(node);
        return node;
    }

    [Fact]
    public void FollowerRejectsAppendWithMismatchedPrevTerm()
    {
        var follower = LoneNode.WithLog(2, [1, 1, 2], new HardState(2, 0, 1));
        follower.Step(new Message
        {
            Type = MessageType.Append, From = 1, To = 2, Term = 3, Index = 3, LogTerm = 3, Commit = 3,
            Entries = [Entry.Normal(4, 3, B("x"))],
        });
        var response = LoneNode.Drain(follower).Single(m => m.Type == MessageType.AppendResponse);
        Assert.True(response.Reject);
        Assert.Equal(3, response.Index);
        // Hint: our last index whose term is <= 3 is 3 (term 2): the leader can jump straight there.
        Assert.Equal(3, response.RejectHint);
        Assert.Equal(2, response.RejectHintTerm);
        Assert.Equal(3, follower.LastIndex);
        Assert.Equal(1, follower.CommitIndex);
    }

    [Fact]
    public void FollowerReplacesConflictingUncommittedSuffix()
    {
        var follower = LoneNode.WithLog(2, [1, 2, 2], new HardState(2, 0, 1));
        follower.Step(new Message
        {
            Type = MessageType.Append, From = 1, To = 2, Term = 3, Index = 1, LogTerm = 1, Commit = 2,
            Entries = [Entry.Normal(2, 3, B("new"))],
        });
        Assert.Equal(2, follower.LastIndex);
        Assert.False(LoneNode.Drain(follower).Single().Reject);
        Assert.Equal(2, follower.LastIndex);
        Assert.Equal(2, follower.CommitIndex);
    }

    [Fact]
    public void CommittedEntriesAreNeverTruncated()
    {
        var follower = LoneNode.WithLog(2, [1, 2, 2], new HardState(2, 0, 3));
        // A (buggy) leader claims index 2 has term 3 although index 3 is committed: that must fail loudly.
        var ex = Assert.Throws<InvalidOperationException>(() => follower.Step(new Message
        {
            Type = MessageType.Append, From = 1, To = 2, Term = 3, Index = 3, LogTerm = 2, Commit = 3,
            Entries = [Entry.Normal(3, 3, B("x"))],
        }));
        Assert.Contains("never truncated", ex.Message);
    }

    [Fact]
    public void DeposedLeadersUncommittedEntriesAreOverwritten()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c.Isolate(1);
        c[1].Propose(B("lost-1"));
        c[1].Propose(B("lost-2"));
        c.Stabilize();
        c.Elect(2);
        c[2].Propose(B("kept"));
        c.Stabilize();
        c.Heal();
        c.Tick(2, 1);
        c.Stabilize();
        Assert.Equal(RaftRole.Follower, c[1].Role);
        Assert.All(new ulong[] { 1, 2, 3 }, id => Assert.Equal(["kept"], c.AppliedData(id)));
        var log1 = c.Get(1).Storage.Entries(1, c[1].LastIndex + 1, long.MaxValue).Select(e => (e.Index, e.Term));
        var log2 = c.Get(2).Storage.Entries(1, c[2].LastIndex + 1, long.MaxValue).Select(e => (e.Index, e.Term));
        Assert.Equal(log2, log1);
    }

    [Fact]
    public void FastBacktrackingSkipsAWholeTermPerRejection()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c.Isolate(1);
        for (int i = 0; i < 30; i++)
        {
            c[1].Propose(B($"lost-{i}"));
        }
        c.Stabilize();
        c.Elect(2);
        for (int i = 0; i < 30; i++)
        {
            c[2].Propose(B($"kept-{i}"));
        }
        c.Stabilize();
        // Node 3 takes over with a long log of term 2; node 1 holds 30 entries of term 1 at the same indexes.
        c.Elect(3);
        c.Heal();
        c.Trace = new System.Text.StringBuilder();
        c.Tick(3, 1);
        c.Stabilize();
        int rejections = c.Trace.ToString().Split('\n').Count(l => l.Contains("AppendResponse") && l.Contains("Rejected") && l.TrimStart().StartsWith("send", StringComparison.Ordinal));
        // Without the hint the leader would walk back 30 entries one by one.
        Assert.InRange(rejections, 1, 2);
        Assert.Equal(c[3].LastIndex, c[1].LastIndex);
        Assert.Equal(c.AppliedData(3), c.AppliedData(1));
    }

    [Fact]
    public void ProbingFollowerGetsOneAppendUntilItAnswers()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c.Isolate(1);
        c.Elect(2);
        c.Stabilize();
        // Node 1 (old leader) is cut off; node 2 leads and probes it. Proposals must not flood the probe.
        c.Drop(1);
        for (int i = 0; i < 5; i++)
        {
            c[2].Propose(B($"p{i}"));
        }
        c.HandleReady(2);
        Assert.True(c.Get(1).Inbox.Count(m => m.Type == MessageType.Append) <= 1);
    }

    [Fact]
    public void ReplicatingFollowerIsPipelinedUpToMaxInflightMessages()
    {
        var c = RaftTestCluster.Create(3, cfg => cfg with { MaxInflightMessages = 3 });
        c.Elect(1);
        for (int i = 0; i < 10; i++)
        {
            c[1].Propose(B($"p{i}"));
            c.HandleReady(1);
        }
        Assert.Equal(3, c.Get(2).Inbox.Count(m => m.Type == MessageType.Append && m.Entries.Count > 0));
        Assert.Equal(3, c[1].Status().Progress[2].Inflight);
        c.Stabilize();
        Assert.Equal(10, c.AppliedData(2).Count);
    }

    [Fact]
    public void ProposalsBetweenTwoReadysShareOneAppendPerFollower()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        for (int i = 0; i < 50; i++)
        {
            c[1].Propose(B($"p{i}"));
        }
        c.HandleReady(1);
        var append = Assert.Single(c.Get(2).Inbox);
        Assert.Equal(50, append.Entries.Count);
        c.Stabilize();
        Assert.Equal(50, c.AppliedData(3).Count);
    }

    [Fact]
    public void InflightBytesBoundThePipeline()
    {
        var c = RaftTestCluster.Create(2, cfg => cfg with { MaxInflightBytes = 250 });
        c.Elect(1);
        for (int i = 0; i < 10; i++)
        {
            c[1].Propose(new byte[100]);
            c.HandleReady(1);
        }
        // 100 bytes each: the third message reaches 300 >= 250, the window is full.
        Assert.Equal(3, c.Get(2).Inbox.Count(m => m.Type == MessageType.Append && m.Entries.Count > 0));
        c.Stabilize();
        Assert.Equal(10, c.AppliedData(2).Count);
    }

    [Fact]
    public void AppendMessagesRespectMaxSizePerMessage()
    {
        var c = RaftTestCluster.Create(2, cfg => cfg with { MaxSizePerMessage = 300 });
        c.Elect(1);
        c.Isolate(2);
        for (int i = 0; i < 10; i++)
        {
            c[1].Propose(new byte[100]);
        }
        c.Stabilize();
        c.Heal();
        c.Trace = new System.Text.StringBuilder();
        c.Tick(1, 1);
        c.Stabilize();
        var appends = c.Trace.ToString().Split('\n').Where(l => l.TrimStart().StartsWith("send 1->2 Append", StringComparison.Ordinal) && l.Contains("Entries")).ToList();
        Assert.True(appends.Count >= 4, $"10 entries of 124 bytes need at least 4 messages of at most 300 bytes, saw {appends.Count}");
        Assert.Equal(c[1].CommitIndex, c[2].CommitIndex);
    }

    [Fact]
    public void ProposalsPastUncommittedLimitAreDropped()
    {
        var c = RaftTestCluster.Create(3, cfg => cfg with { MaxUncommittedEntriesSize = 1000 });
        c.Elect(1);
        c.Isolate(1);
        c[1].Propose(new byte[600]);
        var ex = Assert.Throws<ProposalDroppedException>(() => c[1].Propose(new byte[600]));
        Assert.Equal(DropReason.UncommittedSizeExceeded, ex.Reason);
        // An empty entry carries no payload and is always accepted (leaders rely on that for their no-op).
        c[1].Propose(ReadOnlyMemory<byte>.Empty);
        c.Heal();
        c.Tick(1, 1);
        c.Stabilize();
        // Once applied, the budget is free again.
        c[1].Propose(new byte[600]);
    }

    [Fact]
    public void FollowerForwardsProposalToLeader()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c[3].Propose(B("from-3"));
        c.Stabilize();
        Assert.All(new ulong[] { 1, 2, 3 }, id => Assert.Equal(["from-3"], c.AppliedData(id)));
    }

    [Fact]
    public void FollowerWithForwardingDisabledDropsProposal()
    {
        var c = RaftTestCluster.Create(3, cfg => cfg with { DisableProposalForwarding = true });
        c.Elect(1);
        var ex = Assert.Throws<ProposalDroppedException>(() => c[3].Propose(B("x")));
        Assert.Equal(DropReason.ForwardingDisabled, ex.Reason);
        Assert.Equal(1UL, ex.LeaderHint);
    }

    [Fact]
    public void ProposalWithoutLeaderIsDropped()
    {
        var c = RaftTestCluster.Create(3);
        var ex = Assert.Throws<ProposalDroppedException>(() => c[2].Propose(B("x")));
        Assert.Equal(DropReason.NoLeader, ex.Reason);
    }

    [Fact]
    public void RestartedFollowerCatchesUp()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c[1].Propose(B("a"));
        c.Stabilize();
        c.Restart(3);
        c[1].Propose(B("b"));
        c.Stabilize();
        Assert.Equal(["a", "b"], c.AppliedData(3));
    }

    [Fact]
    public void HeartbeatNeverAdvertisesCommitBeyondFollowersMatch()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c.Isolate(3);
        c[1].Propose(B("a"));
        c.Stabilize();
        c.Heal();
        c.Tick(1, 1);
        c.HandleReady(1);
        var heartbeat = c.Get(3).Inbox.Single(m => m.Type == MessageType.Heartbeat);
        // Node 3 may not hold index 2 yet; telling it "commit 2" could make it commit an entry it does not have.
        Assert.Equal(1, heartbeat.Commit);
        Assert.Equal(2, c.Get(2).Inbox.Single(m => m.Type == MessageType.Heartbeat).Commit);
    }

    [Fact]
    public void LeaderNeverOverwritesOrDeletesItsOwnEntries()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c[1].Propose(B("a"));
        c.Stabilize();
        // A follower claiming conflicting entries cannot change the leader's log (Leader Append-Only).
        c[1].Step(new Message { Type = MessageType.AppendResponse, From = 2, To = 1, Term = 1, Index = 1, Reject = true, RejectHint = 0 });
        c.Stabilize();
        Assert.Equal(2, c[1].LastIndex);
        Assert.Equal(["a"], c.AppliedData(1));
    }

    [Fact]
    public void RestartWithCommitBelowSnapshotKeepsSnapshotCommitted()
    {
        var storage = new MemoryRaftStorage(new ConfState { Voters = [1] });
        storage.ApplySnapshot(new Snapshot(new SnapshotMetadata(10, 2, new ConfState { Voters = [1] }), B("state")));
        storage.SetHardState(new HardState(2, 1, 4));
        var node = new RaftNode(RaftTestCluster.DefaultConfig(1), storage);
        Assert.Equal(10, node.CommitIndex);
    }

    [Fact]
    public void RestartWithCommitBeyondLogFailsLoudly()
    {
        var storage = new MemoryRaftStorage(new ConfState { Voters = [1] });
        storage.Append([Entry.Normal(1, 1, B("a"))]);
        storage.SetHardState(new HardState(1, 1, 5));
        var ex = Assert.Throws<InvalidOperationException>(() => new RaftNode(RaftTestCluster.DefaultConfig(1), storage));
        Assert.Contains("lost", ex.Message);
    }

    [Fact]
    public void StaleReorderedAppendDoesNotTruncateNewerEntries()
    {
        var follower = LoneNode.WithLog(2, [1], new HardState(1, 0, 1));
        var longer = new Message
        {
            Type = MessageType.Append, From = 1, To = 2, Term = 1, Index = 1, LogTerm = 1, Commit = 1,
            Entries = [Entry.Normal(2, 1, B("a")), Entry.Normal(3, 1, B("b"))],
        };
        var shorter = longer with { Entries = [Entry.Normal(2, 1, B("a"))] };
        follower.Step(longer);
        LoneNode.Drain(follower);
        // The older, shorter Append arrives late: entries it agrees with must not cut the log back.
        follower.Step(shorter);
        var response = LoneNode.Drain(follower).Single();
        Assert.Equal(3, follower.LastIndex);
        Assert.False(response.Reject);
        Assert.Equal(2, response.Index);
    }

    [Fact]
    public void DuplicateAppendIsIdempotent()
    {
        var follower = LoneNode.WithLog(2, [1], new HardState(1, 0, 1));
        var append = new Message
        {
            Type = MessageType.Append, From = 1, To = 2, Term = 1, Index = 1, LogTerm = 1, Commit = 2,
            Entries = [Entry.Normal(2, 1, B("a"))],
        };
        follower.Step(append);
        LoneNode.Drain(follower);
        follower.Step(append);
        var rd = follower.GetReady();
        Assert.Empty(rd.Entries);
        Assert.Equal(2, rd.Messages.Single().Index);
        follower.Advance();
        Assert.Equal(2, follower.LastIndex);
    }

    [Fact]
    public void UnreachableFollowerFallsBackToProbing()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        Assert.Equal(ProgressState.Replicate, c[1].Status().Progress[2].State);
        c[1].ReportUnreachable(2);
        Assert.Equal(ProgressState.Probe, c[1].Status().Progress[2].State);
        c[1].Propose(B("x"));
        c.Stabilize();
        Assert.Equal(["x"], c.AppliedData(2));
        Assert.Equal(ProgressState.Replicate, c[1].Status().Progress[2].State);
    }

    [Fact]
    public void LostAppendsDoNotStallAFullPipeline()
    {
        var c = RaftTestCluster.Create(3, cfg => cfg with { MaxInflightMessages = 2 });
        c.Elect(1);
        for (int i = 0; i < 4; i++)
        {
            c[1].Propose(B($"p{i}"));
            c.HandleReady(1);
        }
        c.Drop(2); // both Appends in flight to node 2 are lost; its window is full
        c.Stabilize();
        Assert.Empty(c.AppliedData(2));
        c.Tick(1, 1);
        c.Stabilize();
        Assert.Equal(["p0", "p1", "p2", "p3"], c.AppliedData(2));
    }
}
