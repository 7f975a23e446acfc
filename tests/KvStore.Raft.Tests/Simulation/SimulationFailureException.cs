namespace KvStore.Raft.Tests.Simulation;

/// <summary>What kind of promise a simulated run broke.</summary>
public enum SimulationFailureKind
{
    /// <summary>A safety invariant (leaders per term, committed entries, apply order, acknowledged writes, reads).</summary>
    Safety,
    /// <summary>After healing, no leader or no commit within the bound.</summary>
    Liveness,
    /// <summary>The Raft core threw (an internal invariant assertion or a bug).</summary>
    CoreFailure,
}

/// <summary>A simulated run broke an invariant. The message names the seed, the invariant and the last events.</summary>
public sealed class SimulationFailureException : Exception
{
    public SimulationFailureException(SimulationFailureKind kind, ulong seed, long time, string invariant, string trace, Exception? inner = null)
        : base($"{kind} failure at virtual time {time} (seed {seed}): {invariant}{Environment.NewLine}last events:{Environment.NewLine}{trace}", inner)
    {
        Kind = kind;
        Seed = seed;
        Invariant = invariant;
    }

    public SimulationFailureKind Kind { get; }

    public ulong Seed { get; }

    public string Invariant { get; }
}
