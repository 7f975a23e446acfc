using System.Text;
using KvStore.Storage.IO;
using KvStore.Storage.Lsm;

namespace KvStore.Storage.Tests.Lsm;

/// <summary>Group commit, backpressure and Raft mode (no WAL, applied index recorded by flushes).</summary>
public sealed class LsmWritePathTests
{
    private const string Dir = "/db";

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void Concurrent_synced_writers_share_fsyncs_and_all_survive_a_crash()
    {
        var fs = new FaultInjectingFileSystem();
        var options = LsmDatabaseTests.SmallOptions(fs) with
        {
            FileSystem = new SlowSyncFileSystem(fs, TimeSpan.FromMilliseconds(2)),
            MemtableSizeBytes = 1 << 20,
        };
        const int writers = 16;
        const int perWriter = 25;
        var db = LsmDatabase.Open(Dir, options);
        long syncsBefore = fs.FileSyncCount;
        using (var start = new Barrier(writers))
        {
            var threads = Enumerable.Range(0, writers).Select(w => new Thread(() =>
            {
                start.SignalAndWait();
                for (int i = 0; i < perWriter; i++)
                {
                    db.Put(B($"w{w:D2}-{i:D2}"), B($"value{i}"), new WriteOptions { Sync = true });
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
        }

        long syncs = fs.FileSyncCount - syncsBefore;
        Assert.True(syncs < writers * perWriter, $"{syncs} fsyncs for {writers * perWriter} synced writes: no group commit");
        Assert.True(db.GetStatistics().WalSyncs < writers * perWriter);

        fs.Crash();
        db.Dispose();
        using var reopened = LsmDatabase.Open(Dir, options with { FileSystem = fs });
        for (int w = 0; w < writers; w++)
        {
            for (int i = 0; i < perWriter; i++)
            {
                Assert.True(reopened.TryGet(B($"w{w:D2}-{i:D2}"), out _), $"synced write w{w:D2}-{i:D2} lost");
            }
        }
    }

    [Fact]
    public void A_lone_writer_that_seals_no_memtable_wakes_no_background_thread()
    {
        var fs = new FaultInjectingFileSystem();
        var options = LsmDatabaseTests.SmallOptions(fs) with { MemtableSizeBytes = 1 << 20 };
        using var db = LsmDatabase.Open(Dir, options);
        long before = db.GetStatistics().BackgroundWakeups;
        for (int i = 0; i < 2000; i++)
        {
            db.Put(B($"key{i:D5}"), B($"value{i}"));
            db.Delete(B($"key{i - 1:D5}"));
        }

        Assert.Equal(before, db.GetStatistics().BackgroundWakeups);
        Assert.True(db.TryGet(B("key01999"), out byte[] last));
        Assert.Equal("value1999", Encoding.UTF8.GetString(last));
        Assert.False(db.TryGet(B("key01998"), out _));

        // Sealing a memtable does wake the flush thread, which writes it to level 0.
        db.Flush();
        LsmStatistics after = db.GetStatistics();
        Assert.True(after.BackgroundWakeups > before, "Flush did not signal the flush thread");
        Assert.Equal(1, after.Flushes);
    }

    [Fact]
    public void With_compaction_slowed_level0_never_exceeds_the_stop_trigger()
    {
        var fs = new FaultInjectingFileSystem();
        var options = LsmDatabaseTests.SmallOptions(fs) with
        {
            MemtableSizeBytes = 2048,
            Level0CompactionTrigger = 2,
            Level0SlowdownTrigger = 3,
            Level0StopTrigger = 4,
            BeforeCompaction = () => Thread.Sleep(30),
        };
        using var db = LsmDatabase.Open(Dir, options);
        int observedMax = 0;
        for (int i = 0; i < 1500; i++)
        {
            db.Put(B($"key{i % 400:D4}"), B(new string('v', 40) + i));
            observedMax = Math.Max(observedMax, db.GetStatistics().Levels[0].Tables);
        }

        LsmStatistics stats = db.GetStatistics();
        Assert.InRange(stats.MaxLevel0Tables, 1, options.Level0StopTrigger);
        Assert.InRange(observedMax, 1, options.Level0StopTrigger);
        Assert.True(stats.SlowdownCount + stats.StopCount > 0, "writes outran the slowed compaction without being held back");
        db.WaitForCompactions();
        for (int i = 1100; i < 1500; i++)
        {
            Assert.True(db.TryGet(B($"key{i % 400:D4}"), out byte[] v));
            Assert.Equal(new string('v', 40) + i, Encoding.UTF8.GetString(v));
        }
    }

    [Fact]
    public void With_the_default_triggers_level0_absorbs_a_burst_then_writes_are_delayed_and_bounded_at_the_stop_trigger()
    {
        var fs = new FaultInjectingFileSystem();
        var defaults = new LsmOptions();
        var options = LsmDatabaseTests.SmallOptions(fs) with
        {
            MemtableSizeBytes = 2048,
            Level0CompactionTrigger = defaults.Level0CompactionTrigger,
            Level0SlowdownTrigger = defaults.Level0SlowdownTrigger,
            Level0StopTrigger = defaults.Level0StopTrigger,
            DelayedWriteRate = 256 * 1024,
            BeforeCompaction = () => Thread.Sleep(300),
        };
        using var db = LsmDatabase.Open(Dir, options);
        int observedMax = 0;
        for (int i = 0; i < 3000; i++)
        {
            db.Put(B($"key{i % 500:D4}"), B(new string('v', 40) + i));
            observedMax = Math.Max(observedMax, db.GetStatistics().Levels[0].Tables);
        }

        LsmStatistics stats = db.GetStatistics();
        Assert.InRange(stats.MaxLevel0Tables, options.Level0SlowdownTrigger, options.Level0StopTrigger);
        Assert.InRange(observedMax, 1, options.Level0StopTrigger);
        Assert.True(stats.SlowdownCount > 0, "writes past the slowdown trigger were not delayed");
        db.WaitForCompactions();
        Assert.InRange(db.GetStatistics().Levels[0].Tables, 0, options.Level0CompactionTrigger - 1);
        for (int i = 2500; i < 3000; i++)
        {
            Assert.True(db.TryGet(B($"key{i % 500:D4}"), out byte[] v));
            Assert.Equal(new string('v', 40) + i, Encoding.UTF8.GetString(v));
        }
    }

    [Fact]
    public void Under_raft_the_applied_index_after_a_crash_is_what_was_flushed()
    {
        var fs = new FaultInjectingFileSystem();
        var options = LsmDatabaseTests.SmallOptions(fs) with { UseWal = false, MemtableSizeBytes = 1 << 20 };
        var db = LsmDatabase.Open(Dir, options);
        for (long index = 1; index <= 50; index++)
        {
            db.Put(B($"key{index:D3}"), B($"v{index}"), new WriteOptions { AppliedIndex = index });
        }

        db.Flush();
        Assert.Equal(50, db.AppliedIndex);
        for (long index = 51; index <= 80; index++)
        {
            db.Put(B($"key{index:D3}"), B($"v{index}"), new WriteOptions { AppliedIndex = index });
        }

        fs.Crash();
        db.Dispose();
        using var reopened = LsmDatabase.Open(Dir, options);
        Assert.Equal(50, reopened.AppliedIndex);
        Assert.True(reopened.TryGet(B("key050"), out _));
        Assert.False(reopened.TryGet(B("key051"), out _));
        Assert.DoesNotContain(fs.ListFiles(Dir), n => n.EndsWith(".log", StringComparison.Ordinal));
    }

    [Fact]
    public void Under_raft_random_crashes_leave_exactly_the_writes_up_to_the_applied_index() =>
        ModelSeeds.Run(ciDefault: 20, seed =>
        {
            var rng = new Random(seed);
            var fs = new FaultInjectingFileSystem();
            var options = LsmDatabaseTests.SmallOptions(fs) with { UseWal = false, MemtableSizeBytes = 1024 * rng.Next(1, 4) };
            var history = new List<(string Key, string? Value)>();
            var db = LsmDatabase.Open(Dir, options);
            try
            {
                for (int round = 0; round < 4; round++)
                {
                    int writes = rng.Next(50, 300);
                    for (int i = 0; i < writes; i++)
                    {
                        string key = $"k{rng.Next(100):D3}";
                        string? value = rng.Next(5) == 0 ? null : $"v{history.Count + 1}";
                        history.Add((key, value));
                        var w = new WriteOptions { AppliedIndex = history.Count };
                        if (value == null)
                        {
                            db.Delete(B(key), w);
                        }
                        else
                        {
                            db.Put(B(key), B(value), w);
                        }
                    }

                    fs.Crash((CrashMode)rng.Next(3), rng);
                    db.Dispose();
                    db = LsmDatabase.Open(Dir, options);
                    long applied = db.AppliedIndex;
                    Assert.InRange(applied, 0, history.Count);

                    // Raft would replay the log after the applied index; the test replays its history.
                    var expected = new SortedDictionary<string, string>(StringComparer.Ordinal);
                    foreach (var (key, value) in history.Take((int)applied))
                    {
                        if (value == null)
                        {
                            expected.Remove(key);
                        }
                        else
                        {
                            expected[key] = value;
                        }
                    }

                    var actual = new List<KeyValuePair<string, string>>();
                    using (LsmIterator it = db.NewIterator())
                    {
                        for (it.SeekToFirst(); it.Valid; it.Next())
                        {
                            actual.Add(new(Encoding.UTF8.GetString(it.Key), Encoding.UTF8.GetString(it.Value)));
                        }
                    }

                    Assert.Equal(expected.ToList(), actual);
                    history.RemoveRange((int)applied, history.Count - (int)applied);
                }
            }
            finally
            {
                db.Dispose();
            }
        });
}
