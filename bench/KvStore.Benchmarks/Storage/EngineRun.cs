namespace KvStore.Benchmarks.Storage;

/// <summary>Everything measured for one engine in one invocation.</summary>
/// <param name="WriteAmplification">Bytes the process wrote during fillrandom + overwrite + settling, ÷ user bytes written.</param>
/// <param name="EngineWriteAmplification">The same from the engine's own statistics (table bytes from flush + compaction), when it has them.</param>
/// <param name="BloomFalsePositiveRate">Filter "maybe" answers ÷ filter checks during readmissing, when the engine counts them.</param>
/// <param name="DiskBytes">Size of the database directory after settling.</param>
/// <param name="ManagedHeapBytes">Live managed heap after the read workloads (full GC first): what a C# engine keeps in memory.</param>
/// <param name="ResidentBytes">Process resident set after the read workloads: includes native caches (RocksDB's).</param>
/// <param name="SettleCpu">CPU time spent flushing and finishing compactions after overwrite (work the timed writes left behind).</param>
public sealed record EngineRun(
    string Engine,
    IReadOnlyDictionary<Workload, WorkloadResult> Results,
    double? WriteAmplification,
    double? EngineWriteAmplification,
    double? BloomFalsePositiveRate,
    long DiskBytes,
    long ManagedHeapBytes,
    long ResidentBytes,
    TimeSpan SettleCpu,
    string? Detail);
