namespace KvStore.Raft.Tests.Simulation;

/// <summary>What one simulated run did (for determinism checks and reports).</summary>
public sealed record SimulationResult(
    ulong Seed,
    ulong TraceHash,
    long Events,
    int AckedWrites,
    int ReadsServed,
    int Leaders,
    int Crashes,
    int ConfChanges,
    int CoreFailures,
    long RecoveryTicks);
