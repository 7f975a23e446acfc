using System.Buffers.Binary;
using System.Text;
using KvStore.Storage.IO;
using KvStore.Storage.Log;

namespace KvStore.Storage.Tests.Log;

public sealed class SegmentedLogStoreFaultTests
{
    private const string Dir = "/node/raftlog";
    private static readonly SegmentedLogStoreOptions SmallSegments = new() { SegmentBytes = 4096 };

    private readonly FaultInjectingFileSystem _fs = new();

    private SegmentedLogStore Open(SegmentedLogStoreOptions? options = null) => SegmentedLogStore.Open(_fs, Dir, options ?? SmallSegments);

    private static LogEntry Entry(long index, string text) => new(index, 1, 0, Encoding.UTF8.GetBytes(text));

    private static LogEntry Entry(long index, int size) => new(index, 1, 0, Enumerable.Repeat((byte)index, size).ToArray());

    /// <summary>Offsets of the records in a segment, walked through their length fields.</summary>
    private List<long> RecordOffsets(string path)
    {
        byte[] data = _fs.ReadAllBytes(path);
        var offsets = new List<long>();
        for (int at = 0; at < data.Length; at += 9 + (int)BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at + 4)))
        {
            offsets.Add(at);
        }

        return offsets;
    }

    [Fact]
    public void Appends_of_100_groups_between_two_syncs_cost_one_fsync()
    {
        using SegmentedLogStore store = Open(new SegmentedLogStoreOptions());
        for (ulong g = 1; g <= 100; g++)
        {
            store.Append(g, [Entry(1, $"first of {g}")]);
        }

        store.Sync();
        long files = _fs.FileSyncCount;
        long directories = _fs.DirectorySyncCount;
        long storeSyncs = store.SyncCount;

        for (ulong g = 1; g <= 100; g++)
        {
            store.Append(g, [Entry(2, $"second of {g}"), Entry(3, $"third of {g}")]);
            store.SaveHardState(g, new LogHardState(1, g, 2));
        }

        store.Sync();

        Assert.Equal(files + 1, _fs.FileSyncCount);
        Assert.Equal(directories, _fs.DirectorySyncCount);
        Assert.Equal(storeSyncs + 1, store.SyncCount);

        _fs.Crash();
        using SegmentedLogStore reopened = Open();
        Assert.Equal(100, reopened.Groups.Count);
        Assert.All(reopened.Groups, g => Assert.Equal(3, reopened.LastIndex(g)));
    }

    [Fact]
    public void A_flipped_bit_in_a_middle_record_is_corruption_naming_file_and_offset()
    {
        using (SegmentedLogStore store = Open())
        {
            for (long i = 1; i <= 100; i++)
            {
                store.Append(1, [Entry(i, 100)]);
            }

            store.Sync();
            Assert.True(store.SegmentNumbers.Count >= 3);
        }

        // A record in the middle of the second segment (not the last one).
        string path = $"{Dir}/{2:D20}.raftlog";
        List<long> offsets = RecordOffsets(path);
        long victim = offsets[offsets.Count / 2];
        _fs.FlipBit(path, victim + 20, 3);

        var error = Assert.Throws<StorageCorruptionException>(() => Open());
        Assert.Equal(path, error.File);
        Assert.Equal(victim, error.Offset);
    }

    [Fact]
    public void A_flipped_bit_in_the_last_segment_followed_by_intact_records_is_corruption_not_a_torn_tail()
    {
        using (SegmentedLogStore store = Open(new SegmentedLogStoreOptions()))
        {
            for (long i = 1; i <= 20; i++)
            {
                store.Append(1, [Entry(i, 50)]);
            }

            store.Sync();
        }

        string path = $"{Dir}/{1:D20}.raftlog";
        List<long> offsets = RecordOffsets(path);
        long victim = offsets[10];
        _fs.FlipBit(path, victim + 5, 0); // inside the length field: the record's extent itself is wrong

        var error = Assert.Throws<StorageCorruptionException>(() => Open(new SegmentedLogStoreOptions()));
        Assert.Equal(path, error.File);
        Assert.Equal(victim, error.Offset);
    }

    [Fact]
    public void A_flipped_bit_after_open_fails_the_read_instead_of_returning_wrong_data()
    {
        using SegmentedLogStore store = Open(new SegmentedLogStoreOptions());
        store.Append(1, [Entry(1, "payload-one"), Entry(2, "payload-two")]);
        store.Sync();
        string path = $"{Dir}/{1:D20}.raftlog";
        byte[] data = _fs.ReadAllBytes(path);
        int at = data.AsSpan().IndexOf("payload-two"u8);
        _fs.FlipBit(path, at + 3, 1);

        Assert.Equal("payload-one", Encoding.UTF8.GetString(store.GetEntries(1, 1, 2)[0].Data.Span));
        var error = Assert.Throws<StorageCorruptionException>(() => store.GetEntries(1, 1, 3));
        Assert.Equal(path, error.File);
        Assert.Equal(at, error.Offset);
    }

    [Fact]
    public void A_torn_tail_is_cut_and_everything_synced_is_recovered()
    {
        int cutSomewhere = 0;
        for (int seed = 0; seed < 20; seed++)
        {
            var fs = new FaultInjectingFileSystem();
            using (SegmentedLogStore store = SegmentedLogStore.Open(fs, Dir))
            {
                store.Append(1, [Entry(1, "synced-1"), Entry(2, "synced-2")]);
                store.Sync();
                for (long i = 3; i <= 12; i++)
                {
                    store.Append(1, [Entry(i, 300)]);
                }
            }

            string path = $"{Dir}/{1:D20}.raftlog";
            long before = fs.ReadAllBytes(path).Length;
            fs.Crash(CrashMode.TornTailWithGarbage, new Random(seed));
            long torn = fs.ReadAllBytes(path).Length;

            using (SegmentedLogStore reopened = SegmentedLogStore.Open(fs, Dir))
            {
                long last = reopened.LastIndex(1);
                Assert.InRange(last, 2, 12);
                Assert.Equal("synced-2", Encoding.UTF8.GetString(reopened.GetEntries(1, 2, 3)[0].Data.Span));
                Assert.All(reopened.GetEntries(1, 3, last + 1), e => Assert.All(e.Data.ToArray(), b => Assert.Equal((byte)e.Index, b)));
                long cut = fs.ReadAllBytes(path).Length;
                Assert.True(cut <= torn && cut <= before);
                cutSomewhere += cut < torn ? 1 : 0;

                // The cut is durable and the store appends after it.
                reopened.Append(1, [Entry(last + 1, "after-the-cut")]);
                reopened.Sync();
            }

            fs.Crash(CrashMode.TornTailWithGarbage, new Random(seed));
            using SegmentedLogStore again = SegmentedLogStore.Open(fs, Dir);
            Assert.Equal("after-the-cut", Encoding.UTF8.GetString(again.GetEntries(1, again.LastIndex(1), again.LastIndex(1) + 1)[0].Data.Span));
        }

        Assert.True(cutSomewhere > 5, $"only {cutSomewhere} of 20 crashes left a partial record to cut");
    }

    [Fact]
    public void Out_of_space_fails_the_write_keeps_the_store_readable_and_recovers_when_space_returns()
    {
        using SegmentedLogStore store = Open();
        for (long i = 1; i <= 10; i++)
        {
            store.Append(1, [Entry(i, 200)]);
        }

        store.Sync();
        _fs.CapacityBytes = _fs.UsedBytes + 100;

        var error = Assert.Throws<OutOfSpaceException>(() => store.Append(1, [Entry(11, 500)]));
        Assert.Contains(".raftlog", error.File);
        Assert.Equal(10, store.LastIndex(1));
        Assert.Equal(10, store.GetEntries(1, 1, 11).Count);
        Assert.Throws<OutOfSpaceException>(() =>
        {
            // Enough small records to need a new segment, which cannot be started either.
            for (long i = 11; i <= 100; i++)
            {
                store.Append(1, [Entry(i, 10)]);
            }
        });
        long last = store.LastIndex(1);
        store.Sync();

        _fs.CapacityBytes = long.MaxValue;
        store.Append(1, [Entry(last + 1, 500)]);
        store.Sync();
        _fs.Crash();

        using SegmentedLogStore reopened = Open();
        Assert.Equal(last + 1, reopened.LastIndex(1));
        Assert.All(reopened.GetEntries(1, 1, last + 2), e => Assert.All(e.Data.ToArray(), b => Assert.Equal((byte)e.Index, b)));
    }

    [Fact]
    public void A_failed_fsync_fails_the_store_until_it_is_reopened()
    {
        SegmentedLogStore store = Open();
        store.Append(1, [Entry(1, "durable")]);
        store.Sync();
        store.Append(1, [Entry(2, "maybe")]);
        _fs.FailNextSyncs(1);

        Assert.Throws<IOException>(() => store.Sync());
        Assert.Throws<StorageException>(() => store.Append(1, [Entry(3, "refused")]));
        Assert.Throws<StorageException>(() => store.Sync());
        Assert.Equal("durable", Encoding.UTF8.GetString(store.GetEntries(1, 1, 2)[0].Data.Span));
        store.Dispose();

        _fs.Crash();
        using SegmentedLogStore reopened = Open();
        Assert.Equal(1, reopened.LastIndex(1));
        reopened.Append(1, [Entry(2, "again")]);
        reopened.Sync();
    }

    [Fact]
    public void Segments_are_deleted_once_every_group_has_compacted_their_entries()
    {
        using SegmentedLogStore store = Open();
        for (long i = 1; i <= 200; i++)
        {
            store.Append(1, [Entry(i, 100)]);
            store.Append(2, [Entry(i, 100)]);
        }

        store.SaveHardState(1, new LogHardState(3, 1, 200));
        store.Sync();
        int many = store.SegmentNumbers.Count;
        Assert.True(many > 10);

        // One group alone compacting frees nothing: the other still needs the old segments.
        store.CompactPrefix(1, 190, 1);
        store.Sync();
        Assert.Equal(many, store.SegmentNumbers.Count);

        store.CompactPrefix(2, 195, 1);
        store.Sync();
        Assert.True(store.SegmentNumbers.Count <= 2, $"{store.SegmentNumbers.Count} segments left");
        Assert.Equal(store.SegmentNumbers.Count, _fs.ListFiles(Dir).Count);

        _fs.Crash();
        using SegmentedLogStore reopened = Open();
        Assert.Equal(191, reopened.FirstIndex(1));
        Assert.Equal(196, reopened.FirstIndex(2));
        Assert.Equal(200, reopened.LastIndex(2));
        Assert.Equal(new LogHardState(3, 1, 200), reopened.GetHardState(1));
        Assert.Equal(1, reopened.GetTerm(2, 195));
        Assert.Equal(5, reopened.GetEntries(2, 196, 201).Count);
    }

    [Fact]
    public void A_segment_created_but_not_synced_disappears_in_a_crash_without_losing_synced_data()
    {
        using (SegmentedLogStore store = Open())
        {
            store.Append(1, [Entry(1, 100)]);
            store.Sync();
            for (long i = 2; i <= 100; i++)
            {
                store.Append(1, [Entry(i, 100)]);
            }

            Assert.True(store.SegmentNumbers.Count > 1);
        }

        _fs.Crash();
        Assert.Single(_fs.ListFiles(Dir));
        using SegmentedLogStore reopened = Open();
        Assert.Equal(1, reopened.LastIndex(1));
    }

    [Fact]
    public void Unknown_files_in_the_directory_are_left_alone()
    {
        _fs.CreateDirectory(Dir);
        using (IStorageFile other = _fs.Open($"{Dir}/LOCK", OpenMode.CreateTruncate))
        {
            other.Append("x"u8);
        }

        using SegmentedLogStore store = Open();
        store.Append(1, [Entry(1, "a")]);
        store.Sync();
        Assert.Contains("LOCK", _fs.ListFiles(Dir));
    }
}
