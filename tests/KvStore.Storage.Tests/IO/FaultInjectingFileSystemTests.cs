using System.Text;
using KvStore.Storage.IO;

namespace KvStore.Storage.Tests.IO;

public sealed class FaultInjectingFileSystemTests
{
    private const string Dir = "/db";

    private static FaultInjectingFileSystem NewFileSystem()
    {
        var fs = new FaultInjectingFileSystem();
        fs.CreateDirectory(Dir);
        return fs;
    }

    private static byte[] Bytes(string s) => Encoding.ASCII.GetBytes(s);

    private static void WriteFile(FaultInjectingFileSystem fs, string path, string content, bool sync, bool syncDirectory)
    {
        using IStorageFile file = fs.Open(path, OpenMode.CreateTruncate);
        file.Append(Bytes(content));
        if (sync)
        {
            file.Sync();
        }

        if (syncDirectory)
        {
            fs.SyncDirectory(Dir);
        }
    }

    private static string Content(FaultInjectingFileSystem fs, string path) => Encoding.ASCII.GetString(fs.ReadAllBytes(path));

    [Fact]
    public void Reads_back_what_was_written_at_any_offset()
    {
        var fs = NewFileSystem();
        using IStorageFile file = fs.Open("/db/a", OpenMode.OpenOrCreate);
        file.Append(Bytes("hello"));
        file.Write(10, Bytes("world"));
        file.Write(1, Bytes("E"));

        Assert.Equal(15, file.Length);
        var buffer = new byte[20];
        Assert.Equal(15, file.Read(0, buffer));
        Assert.Equal("hEllo\0\0\0\0\0world", Encoding.ASCII.GetString(buffer, 0, 15));
        Assert.Equal(0, file.Read(15, buffer));
        Assert.Equal(3, file.Read(12, buffer));
    }

    [Fact]
    public void Open_modes_follow_the_contract()
    {
        var fs = NewFileSystem();
        Assert.Throws<FileNotFoundException>(() => fs.Open("/db/missing", OpenMode.Read));
        Assert.Throws<FileNotFoundException>(() => fs.Open("/db/missing", OpenMode.ReadWrite));
        Assert.Throws<DirectoryNotFoundException>(() => fs.Open("/nodir/x", OpenMode.OpenOrCreate));

        WriteFile(fs, "/db/a", "abc", sync: false, syncDirectory: false);
        using (IStorageFile kept = fs.Open("/db/a", OpenMode.OpenOrCreate))
        {
            Assert.Equal(3, kept.Length);
        }

        using (IStorageFile readOnly = fs.Open("/db/a", OpenMode.Read))
        {
            Assert.Throws<UnauthorizedAccessException>(() => readOnly.Append(Bytes("x")));
        }

        using IStorageFile truncated = fs.Open("/db/a", OpenMode.CreateTruncate);
        Assert.Equal(0, truncated.Length);
    }

    [Fact]
    public void Directory_operations_list_rename_and_delete()
    {
        var fs = NewFileSystem();
        WriteFile(fs, "/db/b", "2", sync: false, syncDirectory: false);
        WriteFile(fs, "/db/a", "1", sync: false, syncDirectory: false);
        Assert.Equal(["a", "b"], fs.ListFiles(Dir));

        fs.Rename("/db/a", "/db/b");
        Assert.Equal(["b"], fs.ListFiles(Dir));
        Assert.Equal("1", Content(fs, "/db/b"));

        fs.DeleteFile("/db/b");
        fs.DeleteFile("/db/never-existed");
        Assert.Empty(fs.ListFiles(Dir));
        Assert.False(fs.FileExists("/db/b"));
        Assert.True(fs.DirectoryExists("/db"));
        Assert.Throws<FileNotFoundException>(() => fs.Rename("/db/a", "/db/c"));
    }

    [Fact]
    public void Crash_loses_unsynced_bytes_and_keeps_synced_ones()
    {
        var fs = NewFileSystem();
        using (IStorageFile file = fs.Open("/db/log", OpenMode.CreateTruncate))
        {
            file.Append(Bytes("durable"));
            file.Sync();
            fs.SyncDirectory(Dir);
            file.Append(Bytes("-lost"));
            file.Write(0, Bytes("D"));
        }

        fs.Crash();

        Assert.Equal("durable", Content(fs, "/db/log"));
    }

    [Fact]
    public void Crash_loses_a_synced_file_whose_directory_was_not_synced()
    {
        var fs = NewFileSystem();
        WriteFile(fs, "/db/new", "data", sync: true, syncDirectory: false);

        fs.Crash();

        Assert.False(fs.FileExists("/db/new"));
        Assert.Empty(fs.ListFiles(Dir));
    }

    [Fact]
    public void Crash_keeps_a_created_file_empty_when_only_the_directory_was_synced()
    {
        var fs = NewFileSystem();
        WriteFile(fs, "/db/new", "data", sync: false, syncDirectory: true);

        fs.Crash();

        Assert.True(fs.FileExists("/db/new"));
        Assert.Equal("", Content(fs, "/db/new"));
    }

    [Fact]
    public void Crash_undoes_an_unsynced_rename_and_delete()
    {
        var fs = NewFileSystem();
        WriteFile(fs, "/db/old", "old", sync: true, syncDirectory: true);
        WriteFile(fs, "/db/gone", "gone", sync: true, syncDirectory: true);
        fs.Rename("/db/old", "/db/renamed");
        fs.DeleteFile("/db/gone");

        fs.Crash();

        Assert.Equal(["gone", "old"], fs.ListFiles(Dir));
        Assert.Equal("old", Content(fs, "/db/old"));
        Assert.Equal("gone", Content(fs, "/db/gone"));
    }

    [Fact]
    public void A_synced_rename_survives_the_crash()
    {
        var fs = NewFileSystem();
        WriteFile(fs, "/db/tmp", "manifest", sync: true, syncDirectory: true);
        fs.Rename("/db/tmp", "/db/CURRENT");
        fs.SyncDirectory(Dir);

        fs.Crash();

        Assert.Equal(["CURRENT"], fs.ListFiles(Dir));
        Assert.Equal("manifest", Content(fs, "/db/CURRENT"));
    }

    [Fact]
    public void An_unsynced_truncate_is_undone_by_a_crash()
    {
        var fs = NewFileSystem();
        WriteFile(fs, "/db/f", "0123456789", sync: true, syncDirectory: true);
        using (IStorageFile file = fs.Open("/db/f", OpenMode.ReadWrite))
        {
            file.SetLength(4);
            Assert.Equal(4, file.Length);
        }

        fs.Crash();

        Assert.Equal("0123456789", Content(fs, "/db/f"));
    }

    [Fact]
    public void Handles_opened_before_a_crash_are_dead()
    {
        var fs = NewFileSystem();
        WriteFile(fs, "/db/f", "x", sync: true, syncDirectory: true);
        IStorageFile file = fs.Open("/db/f", OpenMode.ReadWrite);

        fs.Crash();

        Assert.Throws<ObjectDisposedException>(() => file.Append(Bytes("y")));
        Assert.Throws<ObjectDisposedException>(() => file.Read(0, new byte[1]));
        Assert.Throws<ObjectDisposedException>(() => file.Sync());
        Assert.Throws<ObjectDisposedException>(() => _ = file.Length);
        file.Dispose();
        Assert.Equal("x", Content(fs, "/db/f"));
    }

    [Fact]
    public void A_disposed_handle_cannot_be_used()
    {
        var fs = NewFileSystem();
        IStorageFile file = fs.Open("/db/f", OpenMode.CreateTruncate);
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => file.Append(Bytes("y")));
    }

    [Fact]
    public void Torn_tail_keeps_a_prefix_of_the_unsynced_append_and_varies_with_the_seed()
    {
        var lengths = new HashSet<long>();
        for (int seed = 0; seed < 40; seed++)
        {
            var fs = NewFileSystem();
            using (IStorageFile file = fs.Open("/db/log", OpenMode.CreateTruncate))
            {
                file.Append(Bytes("SYNCED|"));
                file.Sync();
                fs.SyncDirectory(Dir);
                file.Append(Bytes("unsynced-tail-bytes"));
            }

            fs.Crash(CrashMode.TornTail, new Random(seed));

            string content = Content(fs, "/db/log");
            Assert.StartsWith("SYNCED|", content);
            Assert.True("SYNCED|unsynced-tail-bytes".StartsWith(content, StringComparison.Ordinal), $"seed {seed}: '{content}' is not a prefix");
            lengths.Add(content.Length);
        }

        // A tear can land anywhere: across 40 seeds we see several different cut points, including mid-record.
        Assert.True(lengths.Count > 5, $"only {lengths.Count} distinct cut points");
    }

    [Fact]
    public void Torn_tail_is_deterministic_for_a_seed()
    {
        string RunOnce()
        {
            var fs = NewFileSystem();
            using (IStorageFile file = fs.Open("/db/log", OpenMode.CreateTruncate))
            {
                fs.SyncDirectory(Dir);
                file.Append(new byte[1000]);
            }

            fs.Crash(CrashMode.TornTailWithGarbage, new Random(1234));
            return Convert.ToHexString(fs.ReadAllBytes("/db/log"));
        }

        Assert.Equal(RunOnce(), RunOnce());
    }

    [Fact]
    public void Torn_tail_with_garbage_never_touches_synced_bytes_and_can_write_garbage()
    {
        bool sawGarbage = false;
        for (int seed = 0; seed < 40; seed++)
        {
            var fs = NewFileSystem();
            using (IStorageFile file = fs.Open("/db/log", OpenMode.CreateTruncate))
            {
                file.Append(Enumerable.Repeat((byte)1, 100).ToArray());
                file.Sync();
                fs.SyncDirectory(Dir);
                file.Append(Enumerable.Repeat((byte)2, 100).ToArray());
            }

            fs.Crash(CrashMode.TornTailWithGarbage, new Random(seed));

            byte[] content = fs.ReadAllBytes("/db/log");
            Assert.InRange(content.Length, 100, 200);
            Assert.All(content.Take(100), b => Assert.Equal(1, b));
            sawGarbage |= content.Skip(100).Any(b => b != 2);
        }

        Assert.True(sawGarbage);
    }

    [Fact]
    public void FlipBit_changes_stored_data_that_survives_a_crash()
    {
        var fs = NewFileSystem();
        WriteFile(fs, "/db/f", "AAAA", sync: true, syncDirectory: true);

        fs.FlipBit("/db/f", 2, 0);
        Assert.Equal("AA@A", Content(fs, "/db/f"));

        fs.Crash();
        Assert.Equal("AA@A", Content(fs, "/db/f"));
        Assert.Throws<ArgumentOutOfRangeException>(() => fs.FlipBit("/db/f", 4, 0));
        Assert.Throws<FileNotFoundException>(() => fs.FlipBit("/db/nope", 0, 0));
    }

    [Fact]
    public void A_write_past_capacity_throws_and_changes_nothing_until_space_returns()
    {
        var fs = NewFileSystem();
        fs.CapacityBytes = 10;
        using IStorageFile file = fs.Open("/db/f", OpenMode.CreateTruncate);
        file.Append(Bytes("12345678"));

        var error = Assert.Throws<OutOfSpaceException>(() => file.Append(Bytes("abc")));
        Assert.Equal("/db/f", error.File);
        Assert.Equal(8, file.Length);
        Assert.Equal("12345678", Content(fs, "/db/f"));
        Assert.Throws<OutOfSpaceException>(() => file.SetLength(11));

        // Overwriting inside the file needs no new space.
        file.Write(0, Bytes("ab"));
        file.Append(Bytes("90"));
        Assert.Equal(10, fs.UsedBytes);

        fs.CapacityBytes = 100;
        file.Append(Bytes("abc"));
        Assert.Equal("ab34567890abc", Content(fs, "/db/f"));
    }

    [Fact]
    public void Capacity_counts_every_file_and_freeing_space_helps()
    {
        var fs = NewFileSystem();
        fs.CapacityBytes = 10;
        WriteFile(fs, "/db/a", "123456", sync: false, syncDirectory: false);
        using IStorageFile b = fs.Open("/db/b", OpenMode.CreateTruncate);
        Assert.Throws<OutOfSpaceException>(() => b.Append(Bytes("12345")));
        Assert.Equal(0, b.Length);

        fs.DeleteFile("/db/a");
        b.Append(Bytes("12345"));
        Assert.Equal(5, fs.UsedBytes);
    }

    [Fact]
    public void Sync_counters_count_successful_syncs()
    {
        var fs = NewFileSystem();
        using IStorageFile file = fs.Open("/db/f", OpenMode.CreateTruncate);
        file.Sync();
        file.Sync();
        fs.SyncDirectory(Dir);

        Assert.Equal(2, fs.FileSyncCount);
        Assert.Equal(1, fs.DirectorySyncCount);
    }

    [Fact]
    public void Injected_sync_failures_throw_and_make_nothing_durable()
    {
        var fs = NewFileSystem();
        IStorageFile file = fs.Open("/db/f", OpenMode.CreateTruncate);
        fs.SyncDirectory(Dir);
        file.Append(Bytes("data"));
        fs.FailNextSyncs(2);

        Assert.Throws<IOException>(() => file.Sync());
        Assert.Throws<IOException>(() => fs.SyncDirectory(Dir));
        Assert.Equal(0, fs.FileSyncCount);
        Assert.Equal(1, fs.DirectorySyncCount);
        Assert.Equal(0, fs.DurableLength("/db/f"));

        file.Sync();
        Assert.Equal(4, fs.DurableLength("/db/f"));
        file.Dispose();
    }

    [Fact]
    public void Concurrent_writers_on_different_files_do_not_interfere()
    {
        var fs = NewFileSystem();
        Parallel.For(0, 8, i =>
        {
            using IStorageFile file = fs.Open($"/db/f{i}", OpenMode.CreateTruncate);
            for (int k = 0; k < 500; k++)
            {
                file.Append([(byte)i]);
                if (k % 50 == 0)
                {
                    file.Sync();
                }
            }
        });

        for (int i = 0; i < 8; i++)
        {
            byte[] content = fs.ReadAllBytes($"/db/f{i}");
            Assert.Equal(500, content.Length);
            Assert.All(content, b => Assert.Equal(i, b));
        }

        Assert.Equal(8 * 10, fs.FileSyncCount);
    }

    [Fact]
    public void Relative_and_messy_paths_name_the_same_file()
    {
        var fs = NewFileSystem();
        WriteFile(fs, "/db//x", "1", sync: false, syncDirectory: false);
        Assert.True(fs.FileExists("/db/./x"));
        Assert.True(fs.DirectoryExists("/db/"));
    }
}
