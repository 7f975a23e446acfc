using KvStore.Storage.IO;
using KvStore.Storage.Lsm;
using KvStore.Storage.Lsm.Table;

namespace KvStore.Benchmarks.Storage;

/// <summary>
/// Our engine, <see cref="LsmDatabase"/>: its own WAL off (under Raft the Raft log is the WAL;
/// RocksDB's is off too), 4 MB memtable, 8 MB block cache, 10-bit Bloom filters, 4 KB blocks.
/// </summary>
public sealed class KvStoreEngine : IBenchEngine
{
    public const string Settings =
        "LsmDatabase: UseWal=false, MemtableSizeBytes 4 MB (2 immutable memtables queued at most), " +
        "BlockCacheBytes 8 MB, TableOptions: BloomBitsPerKey 10, BlockSize 4 KB, restart interval 16, " +
        "CRC32C checked on every block read; leveled compaction with its defaults " +
        "(L0 trigger 4 / slowdown 8 / stop 12, L1 64 MB, multiplier 10, 4 MB tables)";

    private readonly LsmDatabase _db;

    private KvStoreEngine(LsmDatabase db) => _db = db;

    public static KvStoreEngine Open(string directory)
    {
        var options = new LsmOptions
        {
            FileSystem = PhysicalFileSystem.Instance,
            MemtableSizeBytes = EngineBudget.WriteBufferBytes,
            BlockCacheBytes = EngineBudget.BlockCacheBytes,
            UseWal = false,
            Table = new TableOptions { BloomBitsPerKey = EngineBudget.BloomBitsPerKey, BlockSize = EngineBudget.BlockSizeBytes },
        };
        PhysicalFileSystem.Instance.CreateDirectory(directory);
        return new KvStoreEngine(LsmDatabase.Open(directory, options));
    }

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => _db.Put(key, value);

    public int Get(ReadOnlySpan<byte> key, Span<byte> destination)
    {
        if (!_db.TryGet(key, out byte[] value))
        {
            return -1;
        }

        value.CopyTo(destination);
        return value.Length;
    }

    public IBenchScanner? OpenScanner() => new Scanner(_db.NewIterator());

    public void Settle()
    {
        _db.Flush();
        _db.WaitForCompactions();
    }

    public EngineCounters ReadCounters()
    {
        LsmStatistics stats = _db.GetStatistics();
        string levels = string.Join(", ", stats.Levels.Where(l => l.Tables > 0).Select(l => $"L{l.Level}: {l.Tables} tables {l.Bytes >> 20} MB"));
        return new EngineCounters(
            stats.BytesFlushed + stats.BytesCompactedWritten,
            stats.BloomUseful,
            stats.BloomChecks - stats.BloomUseful,
            $"{levels}; flushes {stats.Flushes}, compactions {stats.Compactions}, slowdowns {stats.SlowdownCount}, stops {stats.StopCount}, max L0 {stats.MaxLevel0Tables}");
    }

    public void Dispose() => _db.Dispose();

    private sealed class Scanner(LsmIterator iterator) : IBenchScanner
    {
        public int SeekAndScan(ReadOnlySpan<byte> start, int count, Span<byte> firstKey, ref long bytesSeen)
        {
            iterator.Seek(start);
            int read = 0;
            while (read < count && iterator.Valid)
            {
                ReadOnlySpan<byte> key = iterator.Key;
                if (read == 0)
                {
                    key[..Math.Min(key.Length, firstKey.Length)].CopyTo(firstKey);
                }

                bytesSeen += key.Length + iterator.Value.Length;
                read++;
                iterator.Next();
            }

            return read;
        }

        public void Dispose() => iterator.Dispose();
    }
}
