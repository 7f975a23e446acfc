using KvStore.Raft.Core;

namespace KvStore.Raft.Tests.Core;

public sealed class SnapshotRuleTests
{
    private static byte[] B(string s) => RaftTestCluster.Bytes(s);

    private static RaftTestCluster ClusterWithCompactedLeader(int chunkSize)
    {
        var c = RaftTestCluster.Create(3, cfg => cfg with { SnapshotChunkSize = chunkSize });
        c.Elect(1);
        c.Isolate(3);
        for (int i = 0; i < 10; i++)
        {
            c[1].Propose(B($"value-{i}"));
        }
        c.Stabilize();
        c.Compact(1, c[1].AppliedIndex);
        return c;
    }

    [Fact]
    public void LaggingFollowerIsCaughtUpByChunkedSnapshot()
    {
        var c = ClusterWithCompactedLeader(chunkSize: 16);
        c.Heal();
        c.Trace = new System.Text.StringBuilder();
        c.Tick(1, 1);
        c.Stabilize();
        var chunks = c.Trace.ToString().Split('\n').Count(l => l.TrimStart().StartsWith("send 1->3 Snapshot", StringComparison.Ordinal));
        int dataLength = c.Get(1).Storage.Snapshot().Data.Length;
        Assert.Equal((dataLength + 15) / 16, chunks);
        Assert.Equal(c.AppliedData(1), c.AppliedData(3));
        Assert.Equal(11, c.Get(3).Storage.Snapshot().Metadata.Index);
        Assert.Equal(ProgressState.Replicate, c[1].Status().Progress[3].State);
        // Replication continues normally afterwards.
        c[1].Propose(B("after"));
        c.Stabilize();
        Assert.Equal("after", c.AppliedData(3)[^1]);
    }

    [Fact]
    public void MissingSnapshotChunkIsRejectedAndSnapshotRestarted()
    {
        var c = ClusterWithCompactedLeader(chunkSize: 16);
        c.Heal();
        c.Tick(1, 1);
        // Let the heartbeat round trip happen, then lose the second chunk on the way to node 3.
        for (int round = 0; round < 10 && !c.Get(3).Inbox.Any(m => m.Type == MessageType.Snapshot); round++)
        {
            foreach (ulong id in new ulong[] { 1, 2, 3 })
            {
                c.HandleReady(id);
            }
            foreach (ulong id in new ulong[] { 1, 2 })
            {
                c.Deliver(id);
            }
            if (!c.Get(3).Inbox.Any(m => m.Type == MessageType.Snapshot))
            {
                c.Deliver(3);
            }
        }
        var inbox = c.Get(3).Inbox;
        Assert.True(inbox.Count(m => m.Type == MessageType.Snapshot) > 2);
        inbox.RemoveAt(inbox.FindIndex(m => m.Type == MessageType.Snapshot && m.ChunkOffset > 0));
        c.Trace = new System.Text.StringBuilder();
        c.Stabilize();
        Assert.Contains("SnapshotResponse Term:1 Index:11 Rejected", c.Trace.ToString());
        Assert.Equal(ProgressState.Probe, c[1].Status().Progress[3].State);
        // The next heartbeat answer makes the leader start the snapshot over; this time it arrives whole.
        c.Tick(1, 1);
        c.Stabilize();
        Assert.Equal(c.AppliedData(1), c.AppliedData(3));
    }

    [Fact]
    public void ReportSnapshotFailureReturnsFollowerToProbe()
    {
        var c = ClusterWithCompactedLeader(chunkSize: 1 << 20);
        c.Heal();
        c.Tick(1, 1);
        for (int round = 0; round < 10; round++)
        {
            c.HandleReady(1);
            if (c.Get(3).Inbox.Any(m => m.Type == MessageType.Snapshot))
            {
                break;
            }
            c.HandleReady(2);
            c.HandleReady(3);
            c.Deliver(1);
            c.Deliver(2);
            c.Deliver(3);
        }
        Assert.Equal(ProgressState.Snapshot, c[1].Status().Progress[3].State);
        c.Drop(3);
        c[1].ReportSnapshot(3, failed: true);
        var pr = c[1].Status().Progress[3];
        Assert.Equal(ProgressState.Probe, pr.State);
        Assert.Equal(0, pr.PendingSnapshot);
        c.Tick(1, 1);
        c.Stabilize();
        Assert.Equal(c.AppliedData(1), c.AppliedData(3));
    }

    [Fact]
    public void FollowerIgnoresSnapshotOlderThanItsCommitIndex()
    {
        var follower = LoneNode.WithLog(2, [1, 1, 1], new HardState(1, 0, 3));
        follower.Step(new Message
        {
            Type = MessageType.Snapshot, From = 1, To = 2, Term = 1,
            SnapshotMetadata = new SnapshotMetadata(2, 1, new ConfState { Voters = [1, 2, 3] }), ChunkLast = true,
        });
        var rd = follower.GetReady();
        Assert.Null(rd.Snapshot);
        var response = Assert.Single(rd.Messages);
        Assert.Equal(MessageType.SnapshotResponse, response.Type);
        Assert.Equal(3, response.Index);
        follower.Advance();
    }

    [Fact]
    public void CompactedStorageKeepsTermOfLastCompactedEntry()
    {
        var storage = new MemoryRaftStorage(new ConfState { Voters = [1] });
        storage.Append([Entry.Normal(1, 1, B("a")), Entry.Normal(2, 2, B("b")), Entry.Normal(3, 2, B("c"))]);
        storage.CreateSnapshot(2, new ConfState { Voters = [1] }, B("snap"));
        storage.Compact(2);
        Assert.Equal(3, storage.FirstIndex());
        Assert.Equal(2, storage.Term(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => storage.Entries(2, 4, long.MaxValue));
        Assert.Equal("c", System.Text.Encoding.UTF8.GetString(storage.Entries(3, 4, long.MaxValue).Single().Data.Span));
    }

    [Fact]
    public void StorageAppendReplacesConflictingSuffix()
    {
        var storage = new MemoryRaftStorage(new ConfState { Voters = [1] });
        storage.Append([Entry.Normal(1, 1, B("a")), Entry.Normal(2, 1, B("b")), Entry.Normal(3, 1, B("c"))]);
        storage.Append([Entry.Normal(2, 2, B("x"))]);
        Assert.Equal(2, storage.LastIndex());
        Assert.Equal(2, storage.Term(2));
        Assert.Throws<InvalidOperationException>(() => storage.Append([Entry.Normal(5, 2, B("gap"))]));
    }

    [Fact]
    public void StorageCompactionPastSnapshotIsRefused()
    {
        var storage = new MemoryRaftStorage(new ConfState { Voters = [1] });
        storage.Append([Entry.Normal(1, 1, B("a")), Entry.Normal(2, 1, B("b"))]);
        Assert.Throws<InvalidOperationException>(() => storage.Compact(2));
    }
}
