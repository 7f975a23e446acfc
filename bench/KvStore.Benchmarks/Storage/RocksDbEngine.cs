using System.Globalization;
using RocksDbSharp;

namespace KvStore.Benchmarks.Storage;

/// <summary>
/// RocksDB through RocksDbSharp (native librocksdb from the NuGet package): WAL off, no sync,
/// 8 MB LRU block cache, 10-bit Bloom filter, no compression, otherwise RocksDB's defaults.
/// </summary>
public sealed class RocksDbEngine : IBenchEngine
{
    public const string Settings =
        "write_buffer_size 4 MB (max_write_buffer_number 2), disableWAL=true, sync=false, " +
        "BlockBasedTable: LRU block cache 8 MB, bloom 10 bits/key (full filter), block_size 4 KB, " +
        "compression none, statistics on; everything else RocksDB defaults (leveled compaction, " +
        "level0 trigger 4, dynamic level bytes, 2 background jobs)";

    private readonly RocksDb _db;
    private readonly DbOptions _options;
    private readonly WriteOptions _write;
    private readonly ReadOptions _read;

    private RocksDbEngine(RocksDb db, DbOptions options)
    {
        _db = db;
        _options = options;
        _write = new WriteOptions().SetSync(false).DisableWal(1);
        _read = new ReadOptions();
    }

    public static RocksDbEngine Open(string directory)
    {
        var table = new BlockBasedTableOptions()
            .SetBlockCache(Cache.CreateLru((ulong)EngineBudget.BlockCacheBytes))
            .SetFilterPolicy(BloomFilterPolicy.Create(EngineBudget.BloomBitsPerKey, false))
            .SetBlockSize(EngineBudget.BlockSizeBytes)
            .SetFormatVersion(5);
        var options = new DbOptions()
            .SetCreateIfMissing(true)
            .SetWriteBufferSize((ulong)EngineBudget.WriteBufferBytes)
            .SetMaxWriteBufferNumber(2)
            .SetCompression(Compression.No)
            .SetBlockBasedTableFactory(table)
            .EnableStatistics();
        return new RocksDbEngine(RocksDb.Open(options, directory), options);
    }

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => _db.Put(key, value, null, _write);

    public int Get(ReadOnlySpan<byte> key, Span<byte> destination)
    {
        byte[]? value = _db.Get(key, null, _read);
        if (value is null)
        {
            return -1;
        }

        value.CopyTo(destination);
        return value.Length;
    }

    public IBenchScanner? OpenScanner() => new Scanner(_db.NewIterator(null, _read));

    public void Settle()
    {
        _db.Flush(new FlushOptions().SetWaitForFlush(true));
        Native.Instance.rocksdb_wait_for_compact(_db.Handle, WaitOptions.Handle);
    }

    public EngineCounters ReadCounters()
    {
        string stats = _options.GetStatisticsString() ?? "";
        long flush = Ticker(stats, "rocksdb.flush.write.bytes");
        long compaction = Ticker(stats, "rocksdb.compact.write.bytes");
        long useful = Ticker(stats, "rocksdb.bloom.filter.useful");
        long fullPositive = Ticker(stats, "rocksdb.bloom.filter.full.positive");
        return new EngineCounters(flush + compaction, useful, fullPositive, Levels(_db.GetProperty("rocksdb.levelstats") ?? ""));
    }

    public void Dispose() => _db.Dispose();

    /// <summary>"L1: 3 tables 14 MB, ..." from the rows of RocksDB's levelstats property ("level files size(MB)").</summary>
    private static string Levels(string levelStats)
    {
        var levels = new List<string>();
        foreach (string line in levelStats.Split('\n'))
        {
            string[] cells = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (cells.Length == 3 && int.TryParse(cells[0], out int level) && int.TryParse(cells[1], out int files) && files > 0)
            {
                levels.Add($"L{level}: {files} tables {cells[2]} MB");
            }
        }

        return string.Join(", ", levels);
    }

    /// <summary>Reads "name COUNT : value" from RocksDB's statistics dump; 0 when absent.</summary>
    private static long Ticker(string stats, string name)
    {
        foreach (string line in stats.Split('\n'))
        {
            if (line.StartsWith(name + " ", StringComparison.Ordinal))
            {
                int colon = line.LastIndexOf(':');
                return long.Parse(line[(colon + 1)..].Trim(), CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    private static class WaitOptions
    {
        /// <summary>Default wait_for_compact options: wait for running and pending compactions, do not abort on pause.</summary>
        public static readonly IntPtr Handle = Native.Instance.rocksdb_wait_for_compact_options_create();
    }

    private sealed class Scanner(Iterator iterator) : IBenchScanner
    {
        public int SeekAndScan(ReadOnlySpan<byte> start, int count, Span<byte> firstKey, ref long bytesSeen)
        {
            iterator.Seek(start);
            int read = 0;
            while (read < count && iterator.Valid())
            {
                ReadOnlySpan<byte> key = iterator.GetKeySpan();
                if (read == 0)
                {
                    key[..Math.Min(key.Length, firstKey.Length)].CopyTo(firstKey);
                }

                bytesSeen += key.Length + iterator.GetValueSpan().Length;
                read++;
                iterator.Next();
            }

            return read;
        }

        public void Dispose() => iterator.Dispose();
    }
}
