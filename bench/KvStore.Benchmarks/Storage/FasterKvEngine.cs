using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using FASTER.core;

namespace KvStore.Benchmarks.Storage;

/// <summary>
/// Microsoft FASTER KV: a hash index over a hybrid log, point operations only (it has no
/// ordered iteration, so seek + scan is skipped). Keys and values are fixed-size blittable
/// structs, which is FASTER's fastest mode. 16 MB of log in memory (the 8 MB cache plus the
/// two 4 MB memtables the LSMs get), the rest on disk through the OS page cache like the others.
/// </summary>
public sealed class FasterKvEngine : IBenchEngine
{
    public const string Settings =
        "FasterKV<Key16, Value100> (blittable structs), in-memory log 16 MB (page 1 MB, mutable 90%), " +
        "hash index 8 B per key, read cache off, log device with OS buffering on (page cache like the LSMs), " +
        "no checkpoints (so nothing is durable); seekrandom not supported";

    private const long MemorySizeBytes = 16L << 20;
    private const long PageSizeBytes = 1L << 20;

    private readonly FasterKV<Key16, Value100> _store;
    private readonly IDevice _device;
    private readonly ClientSession<Key16, Value100, Value100, Value100, Empty, IFunctions<Key16, Value100, Value100, Value100, Empty>> _session;

    private FasterKvEngine(FasterKV<Key16, Value100> store, IDevice device)
    {
        _store = store;
        _device = device;
        _session = store.NewSession<Value100, Value100, Empty>(new SimpleFunctions<Key16, Value100>());
    }

    public static FasterKvEngine Open(string directory, long expectedKeys)
    {
        Directory.CreateDirectory(directory);
        IDevice device = Devices.CreateLogDevice(
            Path.Combine(directory, "hlog.log"), preallocateFile: false, deleteOnClose: false,
            capacity: Devices.CAPACITY_UNSPECIFIED, recoverDevice: false, useIoCompletionPort: false,
            disableFileBuffering: false);
        var settings = new FasterKVSettings<Key16, Value100>
        {
            IndexSize = (long)BitOperations.RoundUpToPowerOf2((ulong)Math.Max(expectedKeys * 8, 1 << 16)),
            LogDevice = device,
            MemorySize = MemorySizeBytes,
            PageSize = PageSizeBytes,
            EqualityComparer = new Key16Comparer(),
            ReadCacheEnabled = false,
            TryRecoverLatest = false,
        };
        return new FasterKvEngine(new FasterKV<Key16, Value100>(settings), device);
    }

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var k = Key16.From(key);
        var v = Value100.From(value);
        Status status = _session.Upsert(ref k, ref v);
        if (status.IsPending)
        {
            _session.CompletePending(wait: true);
        }
    }

    public int Get(ReadOnlySpan<byte> key, Span<byte> destination)
    {
        var k = Key16.From(key);
        Value100 output = default;
        Status status = _session.Read(ref k, ref output);
        if (status.IsPending)
        {
            _session.CompletePendingWithOutputs(out var outputs, wait: true);
            using (outputs)
            {
                if (!outputs.Next())
                {
                    throw new InvalidOperationException("FASTER completed a pending read without an output");
                }

                status = outputs.Current.Status;
                output = outputs.Current.Output;
            }
        }

        if (!status.Found)
        {
            return -1;
        }

        ReadOnlySpan<byte> bytes = output;
        bytes.CopyTo(destination);
        return bytes.Length;
    }

    public IBenchScanner? OpenScanner() => null;

    public void Settle() => _store.Log.Flush(wait: true);

    public EngineCounters ReadCounters() => EngineCounters.None;

    public void Dispose()
    {
        _session.Dispose();
        _store.Dispose();
        _device.Dispose();
    }

    /// <summary>A 16-byte key as two words, so the hash index compares it in two instructions.</summary>
    public struct Key16
    {
        public ulong High;
        public ulong Low;

        public static Key16 From(ReadOnlySpan<byte> key)
        {
            if (key.Length != EngineBudget.KeySize)
            {
                throw new ArgumentException($"FASTER engine stores {EngineBudget.KeySize}-byte keys, got {key.Length}", nameof(key));
            }

            return new Key16 { High = BinaryPrimitives.ReadUInt64BigEndian(key), Low = BinaryPrimitives.ReadUInt64BigEndian(key[8..]) };
        }
    }

    /// <summary>A 100-byte value stored inline in the log record.</summary>
    [InlineArray(EngineBudget.ValueSize)]
    public struct Value100
    {
        private byte _first;

        public static Value100 From(ReadOnlySpan<byte> value)
        {
            Value100 v = default;
            value.CopyTo(v);
            return v;
        }
    }

    private sealed class Key16Comparer : IFasterEqualityComparer<Key16>
    {
        public long GetHashCode64(ref Key16 k) => (long)(Mix(k.High) ^ Mix(k.Low + 0x9E3779B97F4A7C15UL));

        public bool Equals(ref Key16 a, ref Key16 b) => a.High == b.High && a.Low == b.Low;

        /// <summary>splitmix64's finaliser: every input bit moves the hash bits FASTER uses for buckets and tags.</summary>
        private static ulong Mix(ulong x)
        {
            x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
            x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
            return x ^ (x >> 31);
        }
    }
}
