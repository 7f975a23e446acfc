using KvStore.Storage.IO;
using KvStore.Storage.Lsm.Cache;
using KvStore.Storage.Lsm.Table;
using KvStore.Storage.Lsm.Versions;
using Version = KvStore.Storage.Lsm.Versions.Version;

namespace KvStore.Storage.Lsm;

/// <summary>
/// Open <see cref="TableReader"/>s, at most <c>capacity</c> of them, least recently used
/// evicted first. A reader is reference counted: eviction (or deletion of its file) closes it
/// only once the last point read or iterator using it has let go.
/// </summary>
internal sealed class TableCache : IDisposable
{
    private readonly IFileSystem _fs;
    private readonly string _directory;
    private readonly TableOptions _options;
    private readonly BlockCache? _blockCache;
    private readonly int _capacity;
    private readonly object _lock = new();
    private readonly Dictionary<ulong, LinkedListNode<TableHandle>> _entries = [];
    private readonly LinkedList<TableHandle> _lru = new();

    public TableCache(IFileSystem fileSystem, string directory, TableOptions options, BlockCache? blockCache, int capacity)
    {
        _fs = fileSystem;
        _directory = directory;
        _options = options;
        _blockCache = blockCache;
        _capacity = capacity;
    }

    /// <summary>A reader for <paramref name="file"/>; release it when done.</summary>
    public TableHandle Acquire(FileMetadata file)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(file.Number, out LinkedListNode<TableHandle>? node))
            {
                _lru.Remove(node);
                _lru.AddFirst(node);
                node.Value.AddRef();
                return node.Value;
            }
        }

        // Opening reads the footer, index and filter: done outside the lock.
        string name = FileNames.Table(file.Number);
        IStorageFile storage = _fs.Open(FileNames.Join(_directory, name), OpenMode.Read);
        TableReader reader;
        try
        {
            reader = TableReader.Open(storage, FileNames.Join(_directory, name), file.Number, _options, _blockCache);
        }
        catch
        {
            storage.Dispose();
            throw;
        }

        var handle = new TableHandle(reader);
        lock (_lock)
        {
            if (_entries.TryGetValue(file.Number, out LinkedListNode<TableHandle>? raced))
            {
                // Another thread opened it meanwhile; keep one.
                reader.Dispose();
                raced.Value.AddRef();
                return raced.Value;
            }

            _entries[file.Number] = _lru.AddFirst(handle);
            handle.AddRef(); // the caller's reference; the cache holds the initial one
            while (_entries.Count > _capacity && _lru.Last is { } last && !ReferenceEquals(last.Value, handle))
            {
                _lru.RemoveLast();
                _entries.Remove(last.Value.Reader.FileNumber);
                last.Value.Release();
            }
        }

        return handle;
    }

    /// <summary>Forgets a table whose file is being deleted.</summary>
    public void Evict(ulong number)
    {
        lock (_lock)
        {
            if (_entries.Remove(number, out LinkedListNode<TableHandle>? node))
            {
                _lru.Remove(node);
                node.Value.Release();
            }
        }

        _blockCache?.EvictFile(number);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (TableHandle handle in _lru)
            {
                handle.Release();
            }

            _lru.Clear();
            _entries.Clear();
        }
    }
}

/// <summary>A reference-counted open table.</summary>
internal sealed class TableHandle(TableReader reader)
{
    private int _references = 1;

    public TableReader Reader { get; } = reader;

    public void AddRef() => Interlocked.Increment(ref _references);

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            Reader.Dispose();
        }
    }
}
