namespace KvStore.Benchmarks.Storage;

/// <summary>
/// Values for the workloads: 100-byte windows of one megabyte of random bytes (incompressible,
/// and no engine compresses here). The window depends on the key and the write round, so a
/// read can check it got the value of the last write and not an older one.
/// </summary>
public sealed class ValueSource
{
    private const int PoolSize = 1 << 20;

    private readonly byte[] _pool = new byte[PoolSize];

    public ValueSource(int seed) => new Random(seed).NextBytes(_pool);

    public ReadOnlySpan<byte> For(long key, int round)
    {
        ulong mixed = ((ulong)key * 0x9E3779B97F4A7C15UL) + ((ulong)round * 0xC2B2AE3D27D4EB4FUL);
        int offset = (int)((mixed >> 20) % (PoolSize - EngineBudget.ValueSize));
        return _pool.AsSpan(offset, EngineBudget.ValueSize);
    }
}
