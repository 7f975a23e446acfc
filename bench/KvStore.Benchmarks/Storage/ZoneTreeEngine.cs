using ZoneTree;
using ZoneTree.Comparers;
using ZoneTree.Hashers;
using ZoneTree.Options;
using ZoneTree.Serializers;

namespace KvStore.Benchmarks.Storage;

/// <summary>
/// ZoneTree (pure C# LSM): no write-ahead log, no compression, mutable segment sized like
/// a 4 MB memtable, background merges through its maintainer.
/// </summary>
public sealed class ZoneTreeEngine : IBenchEngine
{
    /// <summary>Entries in a 4 MB memtable of 16 B keys and 100 B values.</summary>
    public const int MutableSegmentItems = EngineBudget.WriteBufferBytes / (EngineBudget.KeySize + EngineBudget.ValueSize);

    public const string Settings =
        "WriteAheadLogMode.None, MutableSegmentMaxItemCount 36,157 (≈ 4 MB of 116 B entries), " +
        "disk segment compression none, deletion disabled, byte[] keys (lexicographic), " +
        "maintainer merging in the background; other settings ZoneTree defaults (its own key/value caches)";

    private readonly IZoneTree<byte[], byte[]> _tree;
    private readonly IMaintainer _maintainer;
    private readonly byte[] _lookupKey = new byte[EngineBudget.KeySize];

    private ZoneTreeEngine(IZoneTree<byte[], byte[]> tree)
    {
        _tree = tree;
        _maintainer = tree.CreateMaintainer();
    }

    public static ZoneTreeEngine Open(string directory)
    {
        var tree = new ZoneTreeFactory<byte[], byte[]>()
            .SetDataDirectory(directory)
            .SetComparer(new BytesLexicographicComparerAscending())
            .SetKeyHasher(new BytesKeyHasher())
            .SetKeySerializer(new BytesSerializer())
            .SetValueSerializer(new BytesSerializer())
            .SetMutableSegmentMaxItemCount(MutableSegmentItems)
            .ConfigureWriteAheadLogOptions(o => o.WriteAheadLogMode = WriteAheadLogMode.None)
            .ConfigureDiskSegmentOptions(o => o.CompressionMethod = CompressionMethod.None)
            .DisableDeletion()
            .OpenOrCreate();
        return new ZoneTreeEngine(tree);
    }

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        // ZoneTree keeps the arrays it is given in its mutable segment: each put needs its own.
        byte[] k = key.ToArray();
        byte[] v = value.ToArray();
        _tree.Upsert(in k, in v);
    }

    public int Get(ReadOnlySpan<byte> key, Span<byte> destination)
    {
        byte[] k = LookupKey(key);
        if (!_tree.TryGet(in k, out byte[] value))
        {
            return -1;
        }

        value.CopyTo(destination);
        return value.Length;
    }

    public IBenchScanner? OpenScanner() => new Scanner(_tree.CreateIterator(IteratorType.NoRefresh, false, false), this);

    public void Settle()
    {
        _maintainer.EvictToDisk();
        _maintainer.WaitForBackgroundThreads();
    }

    public EngineCounters ReadCounters() => EngineCounters.None;

    public void Dispose()
    {
        _maintainer.WaitForBackgroundThreads();
        _maintainer.Dispose();
        _tree.Dispose();
    }

    /// <summary>Reads do not keep the key, so one reused array serves every lookup of the benchmark's fixed key size.</summary>
    private byte[] LookupKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != _lookupKey.Length)
        {
            return key.ToArray();
        }

        key.CopyTo(_lookupKey);
        return _lookupKey;
    }

    private sealed class Scanner(IZoneTreeIterator<byte[], byte[]> iterator, ZoneTreeEngine engine) : IBenchScanner
    {
        public int SeekAndScan(ReadOnlySpan<byte> start, int count, Span<byte> firstKey, ref long bytesSeen)
        {
            byte[] k = engine.LookupKey(start);
            iterator.Seek(in k);
            int read = 0;
            while (read < count && iterator.Next())
            {
                byte[] key = iterator.CurrentKey;
                if (read == 0)
                {
                    key.AsSpan(0, Math.Min(key.Length, firstKey.Length)).CopyTo(firstKey);
                }

                bytesSeen += key.Length + iterator.CurrentValue.Length;
                read++;
            }

            return read;
        }

        public void Dispose() => iterator.Dispose();
    }
}
