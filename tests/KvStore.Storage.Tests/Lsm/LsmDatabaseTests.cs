using System.Text;
using KvStore.Storage.IO;
using KvStore.Storage.Lsm;
using KvStore.Storage.Lsm.Table;

namespace KvStore.Storage.Tests.Lsm;

public sealed class LsmDatabaseTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static string S(ReadOnlySpan<byte> b) => Encoding.UTF8.GetString(b);

    internal static LsmOptions SmallOptions(IFileSystem fs) => new()
    {
        FileSystem = fs,
        MemtableSizeBytes = 4096,
        TargetFileSize = 4096,
        MaxBytesForLevelBase = 16 * 1024,
        LevelMultiplier = 4,
        Level0CompactionTrigger = 2,
        Level0SlowdownTrigger = 4,
        Level0StopTrigger = 6,
        BlockCacheBytes = 64 * 1024,
        Table = new TableOptions { BlockSize = 512 },
    };

    [Fact]
    public void Put_get_delete_and_overwrite_are_visible_at_once()
    {
        var fs = new FaultInjectingFileSystem();
        using var db = LsmDatabase.Open("/db", SmallOptions(fs));
        db.Put(B("a"), B("1"));
        db.Put(B("b"), B("2"));
        db.Put(B("a"), B("3"));
        db.Delete(B("b"));

        Assert.True(db.TryGet(B("a"), out byte[] a));
        Assert.Equal("3", S(a));
        Assert.False(db.TryGet(B("b"), out _));
        Assert.False(db.TryGet(B("c"), out _));
    }

    [Fact]
    public void Data_survives_flush_compaction_and_reopen()
    {
        var fs = new FaultInjectingFileSystem();
        var options = SmallOptions(fs);
        using (var db = LsmDatabase.Open("/db", options))
        {
            for (int i = 0; i < 2000; i++)
            {
                db.Put(B($"key{i:D5}"), B($"value{i}"));
            }

            for (int i = 0; i < 2000; i += 3)
            {
                db.Delete(B($"key{i:D5}"));
            }

            db.WaitForCompactions();
            LsmStatistics stats = db.GetStatistics();
            Assert.True(stats.Flushes > 0);
            Assert.True(stats.Compactions > 0);
            Assert.True(stats.Levels.Skip(1).Sum(l => l.Tables) > 0);
        }

        using (var db = LsmDatabase.Open("/db", options))
        {
            for (int i = 0; i < 2000; i++)
            {
                bool found = db.TryGet(B($"key{i:D5}"), out byte[] v);
                Assert.Equal(i % 3 != 0, found);
                if (found)
                {
                    Assert.Equal($"value{i}", S(v));
                }
            }

            using LsmIterator it = db.NewIterator();
            int count = 0;
            for (it.SeekToFirst(); it.Valid; it.Next())
            {
                count++;
            }

            Assert.Equal(2000 - 667, count);
        }
    }

    [Fact]
    public void Snapshot_sees_the_state_when_it_was_taken_across_flushes()
    {
        var fs = new FaultInjectingFileSystem();
        using var db = LsmDatabase.Open("/db", SmallOptions(fs));
        db.Put(B("k"), B("old"));
        using LsmSnapshot snapshot = db.GetSnapshot();
        db.Put(B("k"), B("new"));
        db.Delete(B("gone"));
        db.Flush();
        db.CompactRange();

        Assert.True(db.TryGet(B("k"), out byte[] now));
        Assert.Equal("new", S(now));
        Assert.True(db.TryGet(B("k"), out byte[] then, snapshot));
        Assert.Equal("old", S(then));
    }

    [Fact]
    public void Iterator_walks_forward_and_backward_within_bounds_and_prefix()
    {
        var fs = new FaultInjectingFileSystem();
        using var db = LsmDatabase.Open("/db", SmallOptions(fs));
        foreach (string k in new[] { "a1", "a2", "b1", "b2", "b3", "c1" })
        {
            db.Put(B(k), B(k.ToUpperInvariant()));
        }

        db.Flush();
        db.Delete(B("b2"));

        using (LsmIterator it = db.NewIterator(new ReadOptions { Prefix = B("b") }))
        {
            var forward = new List<string>();
            for (it.SeekToFirst(); it.Valid; it.Next())
            {
                forward.Add(S(it.Key));
            }

            Assert.Equal(["b1", "b3"], forward);
            var backward = new List<string>();
            for (it.SeekToLast(); it.Valid; it.Prev())
            {
                backward.Add(S(it.Key) + "=" + S(it.Value));
            }

            Assert.Equal(["b3=B3", "b1=B1"], backward);
        }

        using (LsmIterator it = db.NewIterator(new ReadOptions { LowerBound = B("a2"), UpperBound = B("c1") }))
        {
            it.Seek(B("b"));
            Assert.Equal("b1", S(it.Key));
            it.Prev();
            Assert.Equal("a2", S(it.Key));
            it.Prev();
            Assert.False(it.Valid);
        }
    }

    [Fact]
    public void Seek_for_prev_lands_on_the_last_key_at_or_before_the_target()
    {
        var fs = new FaultInjectingFileSystem();
        using var db = LsmDatabase.Open("/db", SmallOptions(fs));
        foreach (string k in new[] { "b", "d", "f" })
        {
            db.Put(B(k), B(k));
        }

        db.Flush();
        db.Delete(B("d"));
        using LsmIterator it = db.NewIterator();
        it.SeekForPrev(B("d"));
        Assert.Equal("b", S(it.Key));
        it.SeekForPrev(B("f"));
        Assert.Equal("f", S(it.Key));
        it.SeekForPrev(B("z"));
        Assert.Equal("f", S(it.Key));
        it.SeekForPrev(B("a"));
        Assert.False(it.Valid);
    }

    [Fact]
    public void Bloom_filters_spare_table_reads_for_absent_keys_and_statistics_count_the_work()
    {
        var fs = new FaultInjectingFileSystem();
        using var db = LsmDatabase.Open("/db", SmallOptions(fs) with { MemtableSizeBytes = 64 * 1024, TargetFileSize = 64 * 1024 });
        for (int i = 0; i < 5000; i++)
        {
            db.Put(B($"present{i:D5}"), B(new string('v', 20)));
        }

        db.Flush();
        db.WaitForCompactions();
        LsmStatistics before = db.GetStatistics();
        for (int i = 0; i < 2000; i++)
        {
            Assert.False(db.TryGet(B($"present{i:D5}-absent"), out _));
        }

        LsmStatistics after = db.GetStatistics();
        long checks = after.BloomChecks - before.BloomChecks;
        long useful = after.BloomUseful - before.BloomUseful;
        Assert.True(checks >= 1900, $"{checks} filter checks for 2000 absent keys inside the tables' ranges");
        Assert.True(useful >= checks * 0.95, $"only {useful} of {checks} filter checks ruled the table out");
        Assert.True(after.UserBytesWritten >= 5000 * 29);
        Assert.True(after.BytesFlushed > 0 && after.WriteAmplification > 0);
        Assert.Equal(after.Levels.Sum(l => l.Tables), fs.ListFiles("/db").Count(n => n.EndsWith(".sst", StringComparison.Ordinal)));
    }

    [Fact]
    public void Prefix_iteration_skips_tables_whose_prefix_filter_rules_the_prefix_out()
    {
        var fs = new FaultInjectingFileSystem();
        var options = SmallOptions(fs) with
        {
            MemtableSizeBytes = 1 << 20,
            Level0CompactionTrigger = 20,
            Level0SlowdownTrigger = 21,
            Level0StopTrigger = 22,
            Table = new TableOptions { BlockSize = 512, PrefixExtractor = new FixedPrefixExtractor(2) },
        };
        using var db = LsmDatabase.Open("/db", options);

        // Ten L0 tables; each holds keys of prefixes p0 and one other, pN. Only the other nine
        // tables' ranges cover "p3", so only a filter can spare them.
        for (int table = 0; table < 10; table++)
        {
            db.Put(B($"p0-table{table}"), B("x"));
            for (int i = 0; i < 20; i++)
            {
                db.Put(B($"p{table}-{i:D2}"), B($"value{table}.{i}"));
            }

            db.Put(B($"p9-end{table}"), B("x"));
            db.Flush();
        }

        var keys = new List<string>();
        using (LsmIterator it = db.NewIterator(new ReadOptions { Prefix = B("p3") }))
        {
            for (it.SeekToFirst(); it.Valid; it.Next())
            {
                keys.Add(S(it.Key));
            }
        }

        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"p3-{i:D2}"), keys);
        Assert.True(db.GetStatistics().PrefixFilterSkips >= 8, $"{db.GetStatistics().PrefixFilterSkips} tables skipped");
    }

    [Fact]
    public void Compaction_drops_overwritten_and_deleted_data_unless_a_snapshot_still_sees_it()
    {
        var fs = new FaultInjectingFileSystem();
        using var db = LsmDatabase.Open("/db", SmallOptions(fs));
        for (int round = 0; round < 5; round++)
        {
            for (int i = 0; i < 200; i++)
            {
                db.Put(B($"key{i:D3}"), B($"round{round}"));
            }

            db.Flush();
        }

        db.CompactRange();
        Assert.Equal(200, db.GetStatistics().Levels.Sum(l => l.Entries));

        LsmSnapshot snapshot = db.GetSnapshot();
        for (int i = 0; i < 200; i++)
        {
            db.Delete(B($"key{i:D3}"));
        }

        db.CompactRange();

        // The snapshot still reads the values, so they and the tombstones that hide them stay.
        Assert.Equal(400, db.GetStatistics().Levels.Sum(l => l.Entries));
        Assert.True(db.TryGet(B("key123"), out byte[] old, snapshot));
        Assert.Equal("round4", S(old));
        Assert.False(db.TryGet(B("key123"), out _));

        snapshot.Dispose();
        db.CompactRange();
        Assert.Equal(0, db.GetStatistics().Levels.Sum(l => l.Tables));
        Assert.DoesNotContain(fs.ListFiles("/db"), n => n.EndsWith(".sst", StringComparison.Ordinal));
    }
}
