using System.Text;
using KvStore.Storage.IO;
using KvStore.Storage.Lsm;

namespace KvStore.Storage.Tests.Lsm;

/// <summary>WAL and manifest damage: torn tails are cut, damaged durable records are reported with file and offset.</summary>
public sealed class LsmDurabilityTests
{
    private const string Dir = "/db";

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static LsmOptions WalOnly(IFileSystem fs) => LsmDatabaseTests.SmallOptions(fs) with { MemtableSizeBytes = 1 << 20 };

    [Fact]
    public void Torn_wal_tail_is_cut_and_every_synced_write_survives()
    {
        for (int seed = 0; seed < 30; seed++)
        {
            var fs = new FaultInjectingFileSystem();
            var db = LsmDatabase.Open(Dir, WalOnly(fs));
            for (int i = 0; i < 20; i++)
            {
                db.Put(B($"synced{i:D2}"), B($"value{i}"), new WriteOptions { Sync = true });
            }

            // Large enough that the WAL writes some of them out before any sync (64 KiB gathering).
            for (int i = 0; i < 20; i++)
            {
                db.Put(B($"unsynced{i:D2}"), B(new string('u', 6000)));
            }

            fs.Crash(seed % 2 == 0 ? CrashMode.TornTail : CrashMode.TornTailWithGarbage, new Random(seed));
            db.Dispose();

            using var reopened = LsmDatabase.Open(Dir, WalOnly(fs));
            for (int i = 0; i < 20; i++)
            {
                Assert.True(reopened.TryGet(B($"synced{i:D2}"), out byte[] v), $"seed {seed}: synced{i:D2} lost");
                Assert.Equal($"value{i}", Encoding.UTF8.GetString(v));
            }

            // Whatever survived of the unsynced writes is a prefix of them.
            int survived = Enumerable.Range(0, 20).TakeWhile(i => reopened.TryGet(B($"unsynced{i:D2}"), out _)).Count();
            for (int i = survived; i < 20; i++)
            {
                Assert.False(reopened.TryGet(B($"unsynced{i:D2}"), out _), $"seed {seed}: unsynced{i:D2} present after a lost earlier write");
            }
        }
    }

    [Fact]
    public void Bit_flip_inside_the_wal_is_reported_with_file_and_offset()
    {
        var fs = new FaultInjectingFileSystem();
        using (var db = LsmDatabase.Open(Dir, WalOnly(fs)))
        {
            for (int i = 0; i < 50; i++)
            {
                db.Put(B($"key{i:D2}"), B($"value{i}"), new WriteOptions { Sync = true });
            }
        }

        string wal = fs.ListFiles(Dir).Single(n => n.EndsWith(".log", StringComparison.Ordinal));
        fs.FlipBit($"{Dir}/{wal}", 100, 3);

        var e = Assert.Throws<StorageCorruptionException>(() => LsmDatabase.Open(Dir, WalOnly(fs)));
        Assert.Equal($"{Dir}/{wal}", e.File);
        Assert.InRange(e.Offset, 0, 100);
    }

    [Fact]
    public void Bit_flip_inside_the_manifest_is_reported_with_file_and_offset()
    {
        var fs = new FaultInjectingFileSystem();
        using (var db = LsmDatabase.Open(Dir, WalOnly(fs)))
        {
            db.Put(B("a"), B("1"));
            db.Flush();
            db.Put(B("b"), B("2"));
            db.Flush();
        }

        string manifest = fs.ListFiles(Dir).Single(n => n.StartsWith("MANIFEST-", StringComparison.Ordinal));
        fs.FlipBit($"{Dir}/{manifest}", 14, 0);

        var e = Assert.Throws<StorageCorruptionException>(() => LsmDatabase.Open(Dir, WalOnly(fs)));
        Assert.Equal($"{Dir}/{manifest}", e.File);
        Assert.Equal(0, e.Offset);
    }

    [Fact]
    public void Current_naming_a_missing_manifest_is_corruption_not_an_empty_database()
    {
        var fs = new FaultInjectingFileSystem();
        using (var db = LsmDatabase.Open(Dir, WalOnly(fs)))
        {
            db.Put(B("a"), B("1"));
        }

        string manifest = fs.ListFiles(Dir).Single(n => n.StartsWith("MANIFEST-", StringComparison.Ordinal));
        fs.DeleteFile($"{Dir}/{manifest}");

        var e = Assert.Throws<StorageCorruptionException>(() => LsmDatabase.Open(Dir, WalOnly(fs)));
        Assert.Equal($"{Dir}/CURRENT", e.File);
    }

    [Fact]
    public void Synced_writes_survive_a_crash_during_constant_flushing()
    {
        var fs = new FaultInjectingFileSystem();
        var options = LsmDatabaseTests.SmallOptions(fs);
        var db = LsmDatabase.Open(Dir, options);
        for (int i = 0; i < 500; i++)
        {
            db.Put(B($"key{i:D4}"), B(new string('x', 50) + i), new WriteOptions { Sync = i % 10 == 9 });
        }

        fs.Crash(CrashMode.TornTail, new Random(7));
        db.Dispose();
        using var reopened = LsmDatabase.Open(Dir, options);
        for (int i = 0; i < 500; i++)
        {
            Assert.True(reopened.TryGet(B($"key{i:D4}"), out _), $"key{i:D4} lost although key0499 was synced after it");
        }
    }
}
