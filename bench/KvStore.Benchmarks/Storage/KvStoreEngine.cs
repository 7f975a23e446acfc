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
    /// <summary>The options the benchmark opens the engine with, written out from the options themselves so the report cannot drift from the code.</summary>
    public static string Settings { get; } = Describe(CreateOptions());

    private static string Describe(LsmOptions o) =>
        $"LsmDatabase: UseWal={o.UseWal}, MemtableSizeBytes {o.MemtableSizeBytes >> 20} MB " +
        $"(at most {o.MaxImmutableMemtables} sealed memtables queued), BlockCacheBytes {o.BlockCacheBytes >> 20} MB, " +
        $"TableOptions: BloomBitsPerKey {o.Table.BloomBitsPerKey}, BlockSize {o.Table.BlockSize >> 10} KB, " +
        $"restart interval {o.Table.RestartInterval}, VerifyChecksums={o.Table.VerifyChecksums}; leveled compaction with the engine's defaults " +
        $"(L0 trigger {o.Level0CompactionTrigger} / slowdown {o.Level0SlowdownTrigger} / stop {o.Level0StopTrigger}, " +
        $"L1 {o.MaxBytesForLevelBase >> 20} MB, x{o.LevelMultiplier} per level, {o.TargetFileSize >> 20} MB tables)";

    private readonly LsmDatabase _db;

    private KvStoreEngine(LsmDatabase db) => _db = db;

    public static KvStoreEngine Open(string directory)
    {
        PhysicalFileSystem.Instance.CreateDirectory(directory);
        return new KvStoreEngine(LsmDatabase.Open(directory, CreateOptions()));
    }

    private static LsmOptions CreateOptions() => new()
    {
        FileSystem = PhysicalFileSystem.Instance,
        MemtableSizeBytes = EngineBudget.WriteBufferBytes,
        BlockCacheBytes = EngineBudget.BlockCacheBytes,
        UseWal = false,
        Table = new TableOptions { BloomBitsPerKey = EngineBudget.BloomBitsPerKey, BlockSize = EngineBudget.BlockSizeBytes },
    };

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
