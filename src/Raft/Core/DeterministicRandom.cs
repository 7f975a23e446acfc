namespace KvStore.Raft.Core;

/// <summary>
/// SplitMix64: a tiny seeded generator so that a node's randomized election timeouts are a pure
/// function of its seed. The core never touches Random.Shared or a clock, which is what lets the
/// simulator replay a failing seed exactly.
/// </summary>
internal sealed class DeterministicRandom
{
    private ulong _state;

    public DeterministicRandom(ulong seed) => _state = seed;

    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A value in [0, bound).</summary>
    public int Next(int bound)
    {
        if (bound <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bound), bound, "bound must be positive");
        }
        return (int)(NextUInt64() % (ulong)bound);
    }
}
