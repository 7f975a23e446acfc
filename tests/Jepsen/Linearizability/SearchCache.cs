namespace KvStore.Jepsen.Linearizability;

/// <summary>
/// The configurations the search has already reached: a set of linearized operations together with
/// the model state they produce. Reaching the same pair again cannot lead anywhere new (Lowe,
/// section 4.1), which is what makes the search practical.
/// <para>
/// The cache only prunes; the search is correct without it. So once the check's shared
/// <see cref="CacheAllowance"/> is spent, configurations already recorded still prune but new
/// ones are no longer stored: a hard history then costs time (bounded by the budget) instead of
/// unbounded memory.
/// </para>
/// </summary>
internal sealed class SearchCache<TState>
    where TState : notnull
{
    private readonly IEqualityComparer<TState> _states;
    private readonly Dictionary<ulong, List<(ulong[] Bits, TState State)>> _entries = new();

    private readonly CacheAllowance _allowance;

    public SearchCache(IEqualityComparer<TState> states, CacheAllowance allowance)
    {
        _states = states;
        _allowance = allowance;
    }

    /// <summary>Records (set, state); false when it was already recorded.</summary>
    public bool TryAdd(LinearizedSet linearized, TState state)
    {
        ulong key = linearized.Hash ^ ((ulong)(uint)_states.GetHashCode(state) * 0x9E3779B97F4A7C15UL);
        if (_entries.TryGetValue(key, out var bucket))
        {
            ReadOnlySpan<ulong> bits = linearized.Bits;
            foreach (var (storedBits, storedState) in bucket)
            {
                if (bits.SequenceEqual(storedBits) && _states.Equals(storedState, state))
                {
                    return false;
                }
            }
        }
        if (_allowance.TryTake())
        {
            if (bucket is null)
            {
                _entries.Add(key, [(linearized.Snapshot(), state)]);
            }
            else
            {
                bucket.Add((linearized.Snapshot(), state));
            }
        }
        return true;
    }
}
