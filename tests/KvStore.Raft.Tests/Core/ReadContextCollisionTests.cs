using KvStore.Raft.Core;

namespace KvStore.Raft.Tests.Core;

/// <summary>Requests with equal contexts from different nodes (or a restarted one) are separate reads.</summary>
public sealed class ReadContextCollisionTests
{
    private static byte[] B(string s) => RaftTestCluster.Bytes(s);

    [Fact]
    public void Same_context_from_leader_and_follower_both_get_answered()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c[1].Propose(B("a"));
        c.Stabilize();
        // RaftHost uses its per-process counter as context: leader and follower both pick id 1.
        c[1].ReadIndex(B("ctx-1"));
        c[2].ReadIndex(B("ctx-1"));
        c.Stabilize();
        Assert.Single(c.Get(1).ReadStates);
        Assert.Single(c.Get(2).ReadStates); // once merged into the leader's request and never answered
    }
}

/// <summary>A delayed acknowledgement of an earlier heartbeat never confirms a later read with an equal context.</summary>
public sealed class ReadContextCollisionStaleTests
{
    private static byte[] B(string s) => RaftTestCluster.Bytes(s);

    [Fact]
    public void A_delayed_ack_for_a_reused_context_confirms_a_deposed_leaders_read()
    {
        var c = RaftTestCluster.Create(3);
        c.Elect(1);
        c[1].Propose(B("a"));
        c.Stabilize();
        long oldCommit = c[1].CommitIndex;

        // Follower 2 reads with context "X" (its host counter value); node 3's heartbeat ack is delayed in flight.
        c[2].ReadIndex(B("X"));
        c.HandleReady(2);
        c.Deliver(1);
        c.HandleReady(1);
        c.Deliver(2);
        c.Deliver(3);
        c.HandleReady(2);
        c.HandleReady(3);
        int pos = c.Get(1).Inbox.FindIndex(m => m.Type == MessageType.HeartbeatResponse && m.From == 3);
        Assert.True(pos >= 0);
        var delayed = c.Get(1).Inbox[pos];
        c.Get(1).Inbox.RemoveAt(pos);
        c.Stabilize();
        Assert.Single(c.Get(2).ReadStates);

        // Node 1 is cut off; 2 and 3 elect 2, which commits "b" (acknowledged to its client).
        c.Isolate(1);
        c[2].Campaign();
        c.Stabilize();
        Assert.Equal(RaftRole.Leader, c[2].Role);
        c[2].Propose(B("b"));
        c.Stabilize();
        long bIndex = c[2].CommitIndex;
        Assert.True(bIndex > oldCommit);

        // Old leader 1 (still leader of term 1) serves a local read whose context happens to be "X" too.
        c[1].ReadIndex(B("X"));
        c.HandleReady(1);
        c[1].Step(delayed); // the stale term-1 ack from node 3 arrives now
        c.HandleReady(1);
        // Linearizability: node 1 must not confirm a read at an index that misses "b".
        Assert.DoesNotContain(c.Get(1).ReadStates, rs => rs.Index < bIndex);
    }
}
