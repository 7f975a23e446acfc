using KvStore.Raft.Core;
using KvStore.Raft.Host;
using KvStore.Storage.IO;
using KvStore.Storage.Log;

namespace KvStore.Raft.Tests.Host;

public sealed class LogStoreRaftStorageTests
{
    private static readonly ConfState ThreeVoters = new() { Voters = [1, 2, 3] };

    private static Entry E(long index, long term, byte value = 0) => Entry.Normal(index, term, new[] { value });

    [Fact]
    public void A_bootstrapped_group_starts_empty_with_its_initial_voters()
    {
        var snapshots = new InMemorySnapshotStore();
        LogStoreRaftStorage.Bootstrap(7, snapshots, ThreeVoters);
        var storage = new LogStoreRaftStorage(7, new InMemoryRaftLogStore(), snapshots);

        var (hs, cs) = storage.InitialState();

        Assert.True(hs.IsEmpty);
        Assert.Equal([1UL, 2, 3], cs.Voters);
        Assert.Equal(1, storage.FirstIndex());
        Assert.Equal(0, storage.LastIndex());
        Assert.Equal(0, storage.Term(0));
    }

    [Fact]
    public void Appending_below_the_end_replaces_the_conflicting_suffix()
    {
        var storage = Open(new InMemoryRaftLogStore());
        storage.Append([E(1, 1), E(2, 1), E(3, 1), E(4, 1)]);

        storage.Append([E(3, 2, 9)]);

        Assert.Equal(3, storage.LastIndex());
        Assert.Equal(2, storage.Term(3));
        Assert.Equal(9, storage.Entries(3, 4, long.MaxValue)[0].Data.Span[0]);
    }

    [Fact]
    public void A_local_snapshot_compacts_the_log_but_keeps_the_requested_tail()
    {
        var storage = Open(new InMemoryRaftLogStore());
        storage.Append(Enumerable.Range(1, 10).Select(i => E(i, 1)).ToArray());

        storage.SaveLocalSnapshot(8, ThreeVoters, new byte[] { 42 }, compactThrough: 6);

        Assert.Equal(7, storage.FirstIndex());
        Assert.Equal(10, storage.LastIndex());
        Assert.Equal(8, storage.Snapshot().Metadata.Index);
        Assert.Equal(1, storage.Snapshot().Metadata.Term);
        Assert.Equal(1, storage.Term(6));
    }

    [Fact]
    public void A_snapshot_from_the_leader_replaces_the_whole_log()
    {
        var storage = Open(new InMemoryRaftLogStore());
        storage.Append([E(1, 1), E(2, 1), E(3, 1)]);

        storage.ApplySnapshot(new Snapshot(new SnapshotMetadata(20, 4, ThreeVoters), new byte[] { 1 }));

        Assert.Equal(21, storage.FirstIndex());
        Assert.Equal(20, storage.LastIndex());
        Assert.Equal(4, storage.Term(20));
    }

    [Fact]
    public void After_a_crash_the_commit_index_is_never_below_the_durable_snapshot()
    {
        var log = new InMemoryRaftLogStore(trackDurability: true);
        var snapshots = new InMemorySnapshotStore();
        LogStoreRaftStorage.Bootstrap(1, snapshots, ThreeVoters);
        var storage = new LogStoreRaftStorage(1, log, snapshots);
        storage.Append(Enumerable.Range(1, 10).Select(i => E(i, 1)).ToArray());
        storage.SetHardState(new HardState(1, 1, 2));
        log.Sync();
        // A commit-only change is not synced (allowed to be lost); the snapshot is durable on its own.
        storage.SetHardState(new HardState(1, 1, 9));
        storage.SaveLocalSnapshot(9, ThreeVoters, new byte[] { 1 }, compactThrough: 9);

        log.Crash();
        var reopened = new LogStoreRaftStorage(1, log, snapshots);

        Assert.Equal(9, reopened.InitialState().HardState.Commit);
        // The compaction was lost with the crash; opening repairs it so the log starts after the snapshot.
        Assert.Equal(10, reopened.FirstIndex());
        Assert.Equal(10, reopened.LastIndex());
    }

    [Fact]
    public void Works_over_the_segmented_log_store_across_a_crash()
    {
        var fs = new FaultInjectingFileSystem();
        var snapshots = new FileSnapshotStore(fs, "/node/snapshots");
        LogStoreRaftStorage.Bootstrap(3, snapshots, ThreeVoters);
        using (var log = SegmentedLogStore.Open(fs, "/node/log"))
        {
            var storage = new LogStoreRaftStorage(3, log, snapshots);
            storage.Append([E(1, 1, 1), E(2, 1, 2)]);
            storage.SetHardState(new HardState(1, 2, 2));
            log.Sync();
            storage.Append([E(3, 1, 3)]);
        }

        fs.Crash();
        using var reopenedLog = SegmentedLogStore.Open(fs, "/node/log");
        var reopened = new LogStoreRaftStorage(3, reopenedLog, snapshots);

        Assert.Equal(new HardState(1, 2, 2), reopened.InitialState().HardState);
        Assert.Equal(2, reopened.LastIndex());
        Assert.Equal([1, 2], reopened.Entries(1, 3, long.MaxValue).Select(e => (int)e.Data.Span[0]));
    }

    private static LogStoreRaftStorage Open(IRaftLogStore log)
    {
        var snapshots = new InMemorySnapshotStore();
        LogStoreRaftStorage.Bootstrap(1, snapshots, ThreeVoters);
        return new LogStoreRaftStorage(1, log, snapshots);
    }
}
