using System.Text;
using KvStore.Storage.IO;

namespace KvStore.Storage.Tests.IO;

/// <summary>
/// The lost-writes mode of the fault-injection harness: writes live in the process until synced, so
/// a killed process (here: an abandoned file system instance over the same disk) leaves exactly the
/// synced bytes behind.
/// </summary>
public sealed class BufferUntilSyncFileSystemTests
{
    private const string Dir = "/db";

    private static FaultInjectingFileSystem NewDisk()
    {
        var disk = new FaultInjectingFileSystem();
        disk.CreateDirectory(Dir);
        return disk;
    }

    private static byte[] Bytes(string s) => Encoding.ASCII.GetBytes(s);

    private static string Content(IFileSystem fs, string path)
    {
        using IStorageFile file = fs.Open(path, OpenMode.Read);
        var buffer = new byte[file.Length];
        Assert.Equal(buffer.Length, file.Read(0, buffer));
        return Encoding.ASCII.GetString(buffer);
    }

    [Fact]
    public void A_killed_process_loses_unsynced_writes_and_keeps_synced_ones()
    {
        FaultInjectingFileSystem disk = NewDisk();
        var process = new BufferUntilSyncFileSystem(disk);
        IStorageFile log = process.Open("/db/log", OpenMode.CreateTruncate);
        log.Append(Bytes("synced;"));
        log.Sync();
        log.Append(Bytes("unsynced;"));
        log.Write(0, Bytes("S"));
        IStorageFile other = process.Open("/db/other", OpenMode.CreateTruncate);
        other.Append(Bytes("never synced"));
        Assert.Equal("Synced;unsynced;", Content(process, "/db/log"));

        // SIGKILL: the process's memory is gone, its handles were never closed.
        var restarted = new BufferUntilSyncFileSystem(disk);

        Assert.Equal("synced;", Content(restarted, "/db/log"));
        Assert.True(restarted.FileExists("/db/other"), "creating a file is a directory operation, done at once");
        Assert.Equal("", Content(restarted, "/db/other"));
    }

    [Fact]
    public void The_process_reads_its_own_unsynced_writes_through_every_handle_and_after_close()
    {
        var fs = new BufferUntilSyncFileSystem(NewDisk());
        using (IStorageFile writer = fs.Open("/db/a", OpenMode.OpenOrCreate))
        {
            writer.Append(Bytes("hello"));
            using IStorageFile reader = fs.Open("/db/a", OpenMode.Read);
            Assert.Equal(5, reader.Length);
            writer.Write(5000, Bytes("far"));
            Assert.Equal(5003, reader.Length);
            var buffer = new byte[8];
            Assert.Equal(5, reader.Read(4998, buffer));
            Assert.Equal("\0\0far", Encoding.ASCII.GetString(buffer, 0, 5));
            Assert.Throws<UnauthorizedAccessException>(() => reader.Append(Bytes("x")));
        }

        Assert.True(fs.UnsyncedBytes > 0, "closing a file does not sync it");
        string content = Content(fs, "/db/a");
        Assert.Equal(5003, content.Length);
        Assert.StartsWith("hello", content);
    }

    [Fact]
    public void A_shrunk_file_reads_zeros_when_extended_and_syncs_exactly_what_it_reads()
    {
        FaultInjectingFileSystem disk = NewDisk();
        var fs = new BufferUntilSyncFileSystem(disk);
        using (IStorageFile file = fs.Open("/db/a", OpenMode.CreateTruncate))
        {
            file.Append(Bytes("0123456789"));
            file.Sync();
            file.SetLength(4);
            file.SetLength(8);
            Assert.Equal("0123\0\0\0\0", Content(fs, "/db/a"));
            file.Sync();
        }

        Assert.Equal("0123\0\0\0\0", Content(new BufferUntilSyncFileSystem(disk), "/db/a"));
        Assert.Equal(0, fs.UnsyncedBytes);
    }

    [Fact]
    public void Renaming_before_syncing_leaves_an_empty_file_after_a_kill()
    {
        // The classic bug this mode exists to catch: write a temporary file, rename it over the
        // real one, and sync afterwards (or never).
        FaultInjectingFileSystem disk = NewDisk();
        var fs = new BufferUntilSyncFileSystem(disk);
        using (IStorageFile temp = fs.Open("/db/state.tmp", OpenMode.CreateTruncate))
        {
            temp.Append(Bytes("new state"));
        }

        fs.Rename("/db/state.tmp", "/db/state");
        Assert.Equal("new state", Content(fs, "/db/state"));
        Assert.False(fs.FileExists("/db/state.tmp"));

        Assert.Equal("", Content(new BufferUntilSyncFileSystem(disk), "/db/state"));

        // Synced before the rename, it survives.
        using (IStorageFile temp = fs.Open("/db/state2.tmp", OpenMode.CreateTruncate))
        {
            temp.Append(Bytes("durable state"));
            temp.Sync();
        }

        fs.Rename("/db/state2.tmp", "/db/state");
        Assert.Equal("durable state", Content(new BufferUntilSyncFileSystem(disk), "/db/state"));
    }

    [Fact]
    public void A_deleted_file_takes_its_unsynced_writes_with_it()
    {
        var fs = new BufferUntilSyncFileSystem(NewDisk());
        using (IStorageFile file = fs.Open("/db/a", OpenMode.CreateTruncate))
        {
            file.Append(Bytes("doomed"));
        }

        fs.DeleteFile("/db/a");
        Assert.False(fs.FileExists("/db/a"));
        using IStorageFile again = fs.Open("/db/a", OpenMode.OpenOrCreate);
        Assert.Equal(0, again.Length);
        Assert.Equal(0, fs.UnsyncedBytes);
    }

    [Fact]
    public void On_the_real_disk_only_synced_bytes_reach_the_file()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"kvstore-buffered-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, "wal");
            var fs = new BufferUntilSyncFileSystem(PhysicalFileSystem.Instance);
            using IStorageFile file = fs.Open(path, OpenMode.CreateTruncate);
            file.Append(Bytes("first;"));
            Assert.Empty(File.ReadAllBytes(path));
            file.Sync();
            file.Append(Bytes("second;"));
            Assert.Equal("first;", File.ReadAllText(path));
            file.Sync();
            Assert.Equal("first;second;", File.ReadAllText(path));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Random_writes_truncations_and_syncs_match_a_byte_array_model(int seed)
    {
        var random = new Random(seed);
        FaultInjectingFileSystem disk = NewDisk();
        var fs = new BufferUntilSyncFileSystem(disk);
        IStorageFile file = fs.Open("/db/f", OpenMode.CreateTruncate);
        var current = new List<byte>();
        byte[] synced = [];
        for (int step = 0; step < 400; step++)
        {
            switch (random.Next(10))
            {
                case < 6:
                {
                    long offset = random.Next(0, Math.Max(1, current.Count + 6000));
                    var data = new byte[random.Next(1, 9000)];
                    random.NextBytes(data);
                    file.Write(offset, data);
                    while (current.Count < offset + data.Length)
                    {
                        current.Add(0);
                    }

                    for (int i = 0; i < data.Length; i++)
                    {
                        current[(int)offset + i] = data[i];
                    }

                    break;
                }

                case 6 or 7:
                {
                    int length = random.Next(0, current.Count + 5000);
                    file.SetLength(length);
                    if (length < current.Count)
                    {
                        current.RemoveRange(length, current.Count - length);
                    }

                    while (current.Count < length)
                    {
                        current.Add(0);
                    }

                    break;
                }

                case 8:
                    file.Sync();
                    synced = [.. current];
                    break;
                default:
                {
                    var buffer = new byte[current.Count + 10];
                    Assert.Equal(current.Count, file.Read(0, buffer));
                    Assert.Equal(current, buffer.Take(current.Count));
                    break;
                }
            }

            Assert.Equal(current.Count, file.Length);
        }

        var afterKill = new BufferUntilSyncFileSystem(disk);
        using IStorageFile reopened = afterKill.Open("/db/f", OpenMode.Read);
        var bytes = new byte[reopened.Length];
        reopened.Read(0, bytes);
        Assert.Equal(synced, bytes);
    }
}
