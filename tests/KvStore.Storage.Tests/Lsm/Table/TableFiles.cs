using KvStore.Storage.IO;
using KvStore.Storage.Lsm;
using KvStore.Storage.Lsm.Cache;
using KvStore.Storage.Lsm.Table;

namespace KvStore.Storage.Tests.Lsm.Table;

/// <summary>Builds tables on a fault-injecting in-memory file system and opens them.</summary>
internal sealed class TableFiles : IDisposable
{
    private const string Directory = "/tables";
    private readonly List<TableReader> _readers = [];
    private ulong _nextFileNumber = 1;

    public TableFiles()
    {
        FileSystem.CreateDirectory(Directory);
    }

    public FaultInjectingFileSystem FileSystem { get; } = new();

    public string PathOf(string name) => Directory + "/" + name;

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
            var reader = TableReader.Open(file, path, fileNumber, options, cache);
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

    public long LengthOf(string path)
    {
        using var file = FileSystem.Open(path, OpenMode.Read);
        return file.Length;
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
    }
}
