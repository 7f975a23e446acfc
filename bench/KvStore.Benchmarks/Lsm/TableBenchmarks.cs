using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using KvStore.Storage.IO;
using KvStore.Storage.Lsm;
using KvStore.Storage.Lsm.Cache;
using KvStore.Storage.Lsm.Table;

namespace KvStore.Benchmarks.Lsm;

/// <summary>
/// One SSTable of 200,000 entries (16-byte keys, 100-byte values, the benchmark shape)
/// on the real disk, read through an 8 MB block cache (smaller than the table, so most block
/// reads miss it, as in the side-by-side runs): point reads of present and absent keys,
/// and a seek followed by a scan of 100 entries. <see cref="GetHitAllCached"/> reads through a
/// cache holding the whole table, to show the CPU cost of a lookup without I/O.
/// Run: <c>dotnet run -c Release --project bench/KvStore.Benchmarks -- --filter *TableBenchmarks*</c>.
/// </summary>
[MemoryDiagnoser]
public class TableBenchmarks
{
    private const int EntryCount = 200_000;
    private const int KeyLength = 16;
    private const int ValueLength = 100;

    private string _directory = "";
    private TableReader _reader = null!;
    private TableReader _cachedReader = null!;
    private byte[][] _presentKeys = [];
    private byte[][] _absentKeys = [];
    private byte[][] _seekKeys = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "kvstore-table-bench-" + Environment.ProcessId);
        var fs = PhysicalFileSystem.Instance;
        fs.CreateDirectory(_directory);
        string path = Path.Combine(_directory, "000001.sst");
        var options = new TableOptions();
        byte[] value = new byte[ValueLength];
        new Random(1).NextBytes(value);
        using (var file = fs.Open(path, OpenMode.CreateTruncate))
        using (var builder = new TableBuilder(file, options))
        {
            for (int i = 0; i < EntryCount; i++)
            {
                builder.Add(InternalKey.Encode(UserKey(2 * i), (ulong)i + 1, ValueKind.Value), value);
            }

            builder.Finish();
        }

        _reader = TableReader.Open(fs.Open(path, OpenMode.Read), path, 1, options, new BlockCache(8 << 20));
        _cachedReader = TableReader.Open(fs.Open(path, OpenMode.Read), path, 2, options, new BlockCache(256 << 20));
        using (var warm = _cachedReader.NewIterator())
        {
            for (warm.SeekToFirst(); warm.Valid; warm.Next())
            {
            }
        }
        var random = new Random(2);
        _presentKeys = new byte[4096][];
        _absentKeys = new byte[4096][];
        _seekKeys = new byte[4096][];
        for (int i = 0; i < _presentKeys.Length; i++)
        {
            int n = random.Next(EntryCount);
            _presentKeys[i] = UserKey(2 * n);
            _absentKeys[i] = UserKey((2 * n) + 1);
            _seekKeys[i] = InternalKey.Encode(UserKey(2 * random.Next(EntryCount - 100)), InternalKey.MaxSequence, ValueKind.Value);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _reader.Dispose();
        _cachedReader.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark]
    public bool GetHit() => _reader.TryGet(_presentKeys[_next++ & 4095], ulong.MaxValue, out _, out _);

    [Benchmark]
    public bool GetHitAllCached() => _cachedReader.TryGet(_presentKeys[_next++ & 4095], ulong.MaxValue, out _, out _);

    [Benchmark]
    public bool GetMiss() => _reader.TryGet(_absentKeys[_next++ & 4095], ulong.MaxValue, out _, out _);

    [Benchmark]
    public int SeekAndScan100()
    {
        using var iterator = _reader.NewIterator();
        iterator.Seek(_seekKeys[_next++ & 4095]);
        int bytes = 0;
        for (int i = 0; i < 100 && iterator.Valid; i++, iterator.Next())
        {
            bytes += iterator.Value.Length;
        }

        return bytes;
    }

    private static byte[] UserKey(int n)
    {
        byte[] key = new byte[KeyLength];
        "key:"u8.CopyTo(key);
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(8), n);
        return key;
    }
}
