using KvStore.Raft.Core;
using KvStore.Raft.Host;
using KvStore.Storage;
using KvStore.Storage.IO;

namespace KvStore.Raft.Tests.Host;

public sealed class FileSnapshotStoreTests
{
    private static Snapshot Sample(long index, byte fill) => new(
        new SnapshotMetadata(index, 3, new ConfState { Voters = [1, 2], Learners = [4], VotersOutgoing = [1, 2, 3], LearnersNext = [3], AutoLeave = true }),
        Enumerable.Repeat(fill, 1000).ToArray());

    [Fact]
    public void A_saved_snapshot_loads_back_field_for_field()
    {
        var fs = new FaultInjectingFileSystem();
        var store = new FileSnapshotStore(fs, "/snaps");
        store.Save(9, Sample(100, 7));

        var loaded = new FileSnapshotStore(fs, "/snaps").Load(9)!;

        Assert.Equal(100, loaded.Metadata.Index);
        Assert.Equal(3, loaded.Metadata.Term);
        Assert.Equal([1UL, 2], loaded.Metadata.ConfState.Voters);
        Assert.Equal([4UL], loaded.Metadata.ConfState.Learners);
        Assert.Equal([1UL, 2, 3], loaded.Metadata.ConfState.VotersOutgoing);
        Assert.Equal([3UL], loaded.Metadata.ConfState.LearnersNext);
        Assert.True(loaded.Metadata.ConfState.AutoLeave);
        Assert.Equal(Enumerable.Repeat((byte)7, 1000), loaded.Data.ToArray());
        Assert.Null(store.Load(10));
    }

    [Fact]
    public void A_crash_leaves_the_old_or_the_new_snapshot_never_a_mixture()
    {
        var fs = new FaultInjectingFileSystem();
        var store = new FileSnapshotStore(fs, "/snaps");
        store.Save(1, Sample(10, 1));
        store.Save(1, Sample(20, 2));

        fs.Crash();

        var loaded = new FileSnapshotStore(fs, "/snaps").Load(1)!;
        Assert.Equal(20, loaded.Metadata.Index);
        Assert.All(loaded.Data.ToArray(), b => Assert.Equal(2, b));
    }

    [Fact]
    public void A_flipped_bit_is_reported_as_corruption_naming_the_file()
    {
        var fs = new FaultInjectingFileSystem();
        var store = new FileSnapshotStore(fs, "/snaps");
        store.Save(5, Sample(10, 1));
        string path = fs.ListFiles("/snaps").Single(n => n.EndsWith(".snap", StringComparison.Ordinal));
        fs.FlipBit("/snaps/" + path, 200, 3);

        var error = Assert.Throws<StorageCorruptionException>(() => store.Load(5));

        Assert.Contains(path, error.File);
    }
}
