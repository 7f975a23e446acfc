namespace KvStore.Benchmarks.Storage;

/// <summary>
/// The memory and format budget every engine gets, so no engine wins by using more RAM.
/// </summary>
public static class EngineBudget
{
    /// <summary>8 MB block cache: the setting; far smaller than the data set, so reads exercise the cache and the OS page cache.</summary>
    public const long BlockCacheBytes = 8L << 20;

    /// <summary>4 MB memtable (LevelDB's and db_bench's default write_buffer_size).</summary>
    public const int WriteBufferBytes = 4 << 20;

    /// <summary>Bloom filter bits per key (LevelDB and RocksDB db_bench default, ≈1% false positives).</summary>
    public const int BloomBitsPerKey = 10;

    /// <summary>4 KB data blocks, the default of LevelDB and RocksDB.</summary>
    public const int BlockSizeBytes = 4096;

    /// <summary>Key and value sizes of the workloads (db_bench's defaults).</summary>
    public const int KeySize = 16;

    public const int ValueSize = 100;
}
