using KvStore.Storage.IO;
using KvStore.Storage.Lsm;
using KvStore.Storage.Lsm.Cache;
using KvStore.Storage.Lsm.Table;

namespace KvStore.Storage.Tests.Lsm.Table;

/// <summary>Builds tables into a temporary directory and opens them; deletes the directory on dispose.</summary>
internal sealed class TableFiles : IDisposable
{
    private readonly List<TableReader> _readers = [];
    private ulong _nextFileNumber = 1;

    public TableFiles()
    {
        Directory = Path.Combine(Path.GetTempPath(), "kvstore-table-tests-" + Guid.NewGuid().ToString("N"));
        FileSystem.CreateDirectory(Directory);
    }

    public IFileSystem FileSystem { get; } = PhysicalFileSystem.Instance;

    public string Directory { get; }

    public string PathOf(string name) => Path.Combine(Directory, name);

    /// <summary>Writes a table of <paramref name="entries"/> (already in internal-key order).</summary>
    public (string Path, TableProperties Properties) Build(IEnumerable<KeyValuePair<byte[], byte[]>> entries, TableOptions options, string? name = null)
    {
        string path = PathOf(name ?? $"{_nextFileNumber++:D6}.sst");
        using var file = FileSystem.Open(path, OpenMode.CreateTruncate);
        using var builder = new TableBuilder(file, options);
        foreach (var (key, value) in entries)
        {
            builder.Add(key, value);
        }

        return (path, builder.Finish());
    }

    public TableReader Open(string path, TableOptions options, BlockCache? cache = null, ulong fileNumber = 1)
    {
        var file = FileSystem.Open(path, OpenMode.Read);
        try
        {
            var reader = TableReader.Open(file, Path.GetFileName(path), fileNumber, options, cache);
            _readers.Add(reader);
            return reader;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public TableReader BuildAndOpen(SortedDictionary<byte[], byte[]> entries, TableOptions options, BlockCache? cache = null)
    {
        var (path, _) = Build(entries, options);
        return Open(path, options, cache);
    }

    /// <summary>Flips one bit of a stored file.</summary>
    public void FlipBit(string path, long offset, int bit)
    {
        using var file = FileSystem.Open(path, OpenMode.ReadWrite);
        Span<byte> b = stackalloc byte[1];
        Assert.Equal(1, file.Read(offset, b));
        b[0] ^= (byte)(1 << bit);
        file.Write(offset, b);
    }

    public void Truncate(string path, long length)
    {
        using var file = FileSystem.Open(path, OpenMode.ReadWrite);
        file.SetLength(length);
    }

    public static SortedDictionary<byte[], byte[]> NewModel() => new(InternalKeyComparer.Instance);

    public void Dispose()
    {
        foreach (var reader in _readers)
        {
            reader.Dispose();
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless; failing a passing test over it is not.
        }
    }
}
