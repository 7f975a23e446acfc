using KvStore.Storage.IO;

namespace KvStore.Storage.Tests.IO;

public sealed class PhysicalFileSystemTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kvstore-physfs-" + Guid.NewGuid().ToString("N"));
    private readonly PhysicalFileSystem _fs = PhysicalFileSystem.Instance;

    public PhysicalFileSystemTests() => _fs.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void WrittenAndSyncedBytesReadBackAfterReopen()
    {
        string path = Path.Combine(_dir, "a.dat");
        using (var file = _fs.Open(path, OpenMode.CreateTruncate))
        {
            file.Append("hello "u8);
            file.Append("world"u8);
            file.Write(0, "H"u8);
            file.Sync();
            _fs.SyncDirectory(_dir);
            Assert.Equal(11, file.Length);
        }

        using var reopened = _fs.Open(path, OpenMode.Read);
        var buffer = new byte[32];
        int n = reopened.Read(0, buffer);
        Assert.Equal("Hello world", System.Text.Encoding.ASCII.GetString(buffer, 0, n));
        Assert.Equal(0, reopened.Read(11, buffer)); // end of file reads nothing
    }

    [Fact]
    public void RenameReplacesTheDestinationAndListingIsSorted()
    {
        foreach (string name in new[] { "c", "a", "b" })
        {
            using var f = _fs.Open(Path.Combine(_dir, name), OpenMode.CreateTruncate);
            f.Append(System.Text.Encoding.ASCII.GetBytes(name));
            f.Sync();
        }

        _fs.Rename(Path.Combine(_dir, "c"), Path.Combine(_dir, "a"));
        _fs.SyncDirectory(_dir);

        Assert.Equal(new[] { "a", "b" }, _fs.ListFiles(_dir));
        using var a = _fs.Open(Path.Combine(_dir, "a"), OpenMode.Read);
        var buffer = new byte[1];
        a.Read(0, buffer);
        Assert.Equal((byte)'c', buffer[0]);
    }

    [Fact]
    public void SetLengthShrinksAndOpeningAMissingFileForReadFails()
    {
        string path = Path.Combine(_dir, "t");
        using (var f = _fs.Open(path, OpenMode.OpenOrCreate))
        {
            f.Append(new byte[100]);
            f.SetLength(40);
            f.Sync();
            Assert.Equal(40, f.Length);
        }

        Assert.True(_fs.FileExists(path));
        _fs.DeleteFile(path);
        Assert.False(_fs.FileExists(path));
        Assert.Throws<FileNotFoundException>(() => _fs.Open(path, OpenMode.Read));
        Assert.ThrowsAny<IOException>(() => _fs.SyncDirectory(Path.Combine(_dir, "missing")));
    }
}
