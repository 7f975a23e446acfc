namespace KvStore.Benchmarks.Storage;

/// <summary>
/// One storage engine as the side-by-side runner drives it: the same calls for every
/// engine, so the workloads cannot favour one. Not thread-safe; one thread drives it.
/// </summary>
public interface IBenchEngine : IDisposable
{
    /// <summary>Inserts or replaces a key. Sync is off: durability is not measured here.</summary>
    void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value);

    /// <summary>Looks a key up; copies its value into <paramref name="destination"/> and returns its length, or -1 if absent.</summary>
    int Get(ReadOnlySpan<byte> key, Span<byte> destination);

    /// <summary>A cursor for seek + scan workloads, or null when the engine has no ordered iteration (FASTER KV).</summary>
    IBenchScanner? OpenScanner();

    /// <summary>Flushes the memtable and waits until background compaction is idle, so reads see a settled tree.</summary>
    void Settle();

    /// <summary>What the engine reports about itself (bytes written, filter checks); empty when it reports nothing.</summary>
    EngineCounters ReadCounters();
}
