namespace KvStore.Jepsen.Linearizability;

/// <summary>
/// How many configurations all the search caches of one check may store together. Each costs a
/// bitset and a model state (for kv-append a string that can be kilobytes), so without a bound a
/// hard history fills memory long before its time budget ends.
/// </summary>
internal sealed class CacheAllowance
{
    /// <summary>Measured: a kv-append search of the 50-client history holding this many entries
    /// uses about 0.75 GB in all.</summary>
    public const long DefaultEntries = 2_000_000;

    private long _remaining;

    public CacheAllowance(long entries)
    {
        _remaining = entries;
    }

    /// <summary>Takes one entry from the allowance; false once it is spent.</summary>
    public bool TryTake()
    {
        if (_remaining <= 0)
        {
            return false;
        }
        _remaining--;
        return true;
    }
}
