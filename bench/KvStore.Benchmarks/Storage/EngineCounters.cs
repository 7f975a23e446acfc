namespace KvStore.Benchmarks.Storage;

/// <summary>
/// Counters an engine reports about itself. Null means the engine does not report it.
/// </summary>
/// <param name="BytesWritten">Bytes the engine wrote to table files (flush + compaction), by its own statistics.</param>
/// <param name="FilterNegatives">Filter checks that ruled a table out ("useful").</param>
/// <param name="FilterPositives">Filter checks that said "maybe" (true positives plus false positives).</param>
/// <param name="Detail">Free text for the report (levels, tables).</param>
public sealed record EngineCounters(long? BytesWritten, long? FilterNegatives, long? FilterPositives, string? Detail)
{
    public static EngineCounters None { get; } = new(null, null, null, null);
}
