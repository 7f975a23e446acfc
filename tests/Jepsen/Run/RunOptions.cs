namespace KvStore.Jepsen.Run;

/// <summary>What <c>kvstore-jepsen run</c> was asked to do.</summary>
public sealed record RunOptions
{
    public required IReadOnlyList<string> Workloads { get; init; }

    /// <summary>Nemesis names; empty for none.</summary>
    public required IReadOnlyList<string> Nemeses { get; init; }

    public int Nodes { get; init; } = 3;

    /// <summary>Length of the workload phase (faults included); recovery and final reads come after.</summary>
    public TimeSpan Time { get; init; } = TimeSpan.FromSeconds(60);

    public int Seed { get; init; }

    public required string OutDirectory { get; init; }

    /// <summary>Quiet time before each fault, and how long each fault lasts.</summary>
    public TimeSpan FaultInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Budget of the linearizability search; past it the verdict is unknown.</summary>
    public TimeSpan CheckTimeLimit { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Nodes snapshot and compact their log every this many entries (small: kills then exercise snapshot installation).</summary>
    public long SnapshotEveryEntries { get; init; } = 2_000;

    /// <summary>How long the healed cluster may take to elect a leader before the final reads.</summary>
    public TimeSpan RecoveryTimeout { get; init; } = TimeSpan.FromSeconds(60);
}
