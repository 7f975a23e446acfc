using System.Text;
using KvStore.Storage.IO;
using KvStore.Storage.Lsm;

namespace KvStore.Storage.Tests.Lsm;

/// <summary>
/// A full disk fails the operation that needs space with <see cref="OutOfSpaceException"/>; the
/// database stays readable and consistent, works again once space is back, and a crash
/// afterwards recovers every write that succeeded.
/// </summary>
public sealed class LsmOutOfSpaceTests
{
    private const string Dir = "/db";

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static string Big(int i) => new string('x', 150) + i;

    [Fact]
    public void Out_of_space_fails_the_write_and_writes_resume_when_space_returns()
    {
        var fs = new FaultInjectingFileSystem();
        var options = LsmDatabaseTests.SmallOptions(fs) with { MemtableSizeBytes = 1 << 20 };
        var db = LsmDatabase.Open(Dir, options);
        for (int i = 0; i < 10; i++)
        {
            db.Put(B($"key{i:D3}"), B(Big(i)), new WriteOptions { Sync = true });
        }

        fs.CapacityBytes = fs.UsedBytes + 1000;
        int written = 10;
        Assert.Throws<OutOfSpaceException>(() =>
        {
            for (; written < 100; written++)
            {
                db.Put(B($"key{written:D3}"), B(Big(written)), new WriteOptions { Sync = true });
            }
        });
        Assert.InRange(written, 11, 99);
        for (int i = 0; i < written; i++)
        {
            Assert.True(db.TryGet(B($"key{i:D3}"), out _));
        }

        Assert.False(db.TryGet(B($"key{written:D3}"), out _));
        Assert.Throws<OutOfSpaceException>(() => db.Put(B("more"), B(Big(0)), new WriteOptions { Sync = true }));

        fs.CapacityBytes = long.MaxValue;
        db.Put(B("after"), B("space came back"), new WriteOptions { Sync = true });

        fs.Crash();
        db.Dispose();
        using var reopened = LsmDatabase.Open(Dir, options);
        for (int i = 0; i < written; i++)
        {
            Assert.True(reopened.TryGet(B($"key{i:D3}"), out byte[] v));
            Assert.Equal(Big(i), Encoding.UTF8.GetString(v));
        }

        Assert.False(reopened.TryGet(B($"key{written:D3}"), out _));
        Assert.False(reopened.TryGet(B("more"), out _));
        Assert.True(reopened.TryGet(B("after"), out _));
    }

    [Fact]
    public void Out_of_space_at_any_point_of_a_flush_changes_nothing_and_the_flush_succeeds_later()
    {
        // Each step leaves a little more room, so the flush fails in the table, its sync, the
        // directory, the manifest edit or not at all.
        int failures = 0, successes = 0;
        for (int room = 0; room <= 6000; room += 250)
        {
            var fs = new FaultInjectingFileSystem();
            var options = LsmDatabaseTests.SmallOptions(fs) with { UseWal = false, MemtableSizeBytes = 1 << 20 };
            var db = LsmDatabase.Open(Dir, options);
            for (int i = 0; i < 30; i++)
            {
                db.Put(B($"key{i:D3}"), B(Big(i)), new WriteOptions { AppliedIndex = i + 1 });
            }

            fs.CapacityBytes = fs.UsedBytes + room;
            try
            {
                db.Flush();
                Assert.Equal(30, db.AppliedIndex);
                successes++;
            }
            catch (OutOfSpaceException)
            {
                Assert.Equal(0, db.AppliedIndex);
                failures++;
            }

            for (int i = 0; i < 30; i++)
            {
                Assert.True(db.TryGet(B($"key{i:D3}"), out _), $"room {room}: key{i:D3} unreadable after a failed flush");
            }

            fs.CapacityBytes = long.MaxValue;
            db.Flush();
            Assert.Equal(30, db.AppliedIndex);

            fs.Crash();
            db.Dispose();
            using var reopened = LsmDatabase.Open(Dir, options);
            Assert.Equal(30, reopened.AppliedIndex);
            for (int i = 0; i < 30; i++)
            {
                Assert.True(reopened.TryGet(B($"key{i:D3}"), out byte[] v), $"room {room}: key{i:D3} lost");
                Assert.Equal(Big(i), Encoding.UTF8.GetString(v));
            }
        }

        Assert.True(failures > 5 && successes > 0, $"{failures} failed and {successes} succeeded flushes: the sweep missed its range");
    }

    [Fact]
    public void Out_of_space_during_compaction_keeps_the_old_tables_and_compaction_succeeds_later()
    {
        int failures = 0, successes = 0;
        for (int room = 0; room <= 16000; room += 1000)
        {
            var fs = new FaultInjectingFileSystem();
            var options = LsmDatabaseTests.SmallOptions(fs) with
            {
                UseWal = false,
                MemtableSizeBytes = 1 << 20,
                Level0CompactionTrigger = 20,
                Level0SlowdownTrigger = 21,
                Level0StopTrigger = 22,
            };
            var db = LsmDatabase.Open(Dir, options);
            for (int round = 0; round < 3; round++)
            {
                for (int i = 0; i < 30; i++)
                {
                    db.Put(B($"key{i:D3}"), B(Big(i + (100 * round))));
                }

                db.Flush();
            }

            int tablesBefore = fs.ListFiles(Dir).Count(n => n.EndsWith(".sst", StringComparison.Ordinal));
            fs.CapacityBytes = fs.UsedBytes + room;
            bool failed = false;
            try
            {
                db.CompactRange();
            }
            catch (OutOfSpaceException)
            {
                failed = true;
                failures++;
                Assert.Equal(3, db.GetStatistics().Levels[0].Tables);
                Assert.Equal(tablesBefore, fs.ListFiles(Dir).Count(n => n.EndsWith(".sst", StringComparison.Ordinal)));
            }

            for (int i = 0; i < 30; i++)
            {
                Assert.True(db.TryGet(B($"key{i:D3}"), out byte[] v), $"room {room}: key{i:D3} unreadable");
                Assert.Equal(Big(i + 200), Encoding.UTF8.GetString(v));
            }

            successes += failed ? 0 : 1;
            fs.CapacityBytes = long.MaxValue;
            db.CompactRange();
            Assert.Equal(0, db.GetStatistics().Levels[0].Tables);

            fs.Crash();
            db.Dispose();
            using var reopened = LsmDatabase.Open(Dir, options);
            for (int i = 0; i < 30; i++)
            {
                Assert.True(reopened.TryGet(B($"key{i:D3}"), out byte[] v), $"room {room} (failed first: {failed}): key{i:D3} lost");
                Assert.Equal(Big(i + 200), Encoding.UTF8.GetString(v));
            }
        }

        Assert.True(failures > 3 && successes > 0, $"{failures} failed and {successes} succeeded compactions: the sweep missed its range");
    }
}
