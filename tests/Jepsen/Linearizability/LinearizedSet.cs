namespace KvStore.Jepsen.Linearizability;

/// <summary>
/// The set of operations linearized so far, as a bitset with a Zobrist hash (the XOR of a random
/// 64-bit word per member) kept up to date in O(1) per change, so the search cache can hash a set
/// without scanning it.
/// </summary>
internal sealed class LinearizedSet
{
    private readonly ulong[] _bits;
    private readonly ulong[] _keys;

    public LinearizedSet(int size)
    {
        _bits = new ulong[(size + 63) / 64];
        _keys = new ulong[size];
        // A fixed seed keeps runs reproducible; the keys only need to be distinct-looking.
        var random = new Random(0x11ea7);
        for (int i = 0; i < size; i++)
        {
            _keys[i] = (ulong)random.NextInt64() ^ ((ulong)random.NextInt64() << 1);
        }
    }

    /// <summary>The Zobrist hash of the current members.</summary>
    public ulong Hash { get; private set; }

    public void Add(int operation)
    {
        _bits[operation >> 6] |= 1UL << (operation & 63);
        Hash ^= _keys[operation];
    }

    public void Remove(int operation)
    {
        _bits[operation >> 6] &= ~(1UL << (operation & 63));
        Hash ^= _keys[operation];
    }

    public bool Contains(int operation) => (_bits[operation >> 6] & (1UL << (operation & 63))) != 0;

    /// <summary>The live bits (read-only use: the cache compares against them).</summary>
    public ReadOnlySpan<ulong> Bits => _bits;

    /// <summary>A copy of the bits for a cache entry.</summary>
    public ulong[] Snapshot() => (ulong[])_bits.Clone();
}
