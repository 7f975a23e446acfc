namespace KvStore.Jepsen.Run;

/// <summary>How a client operation ended, as recorded in the history.</summary>
public enum OperationOutcome
{
    /// <summary>Took effect (or, for a read, returned the value recorded).</summary>
    Ok,

    /// <summary>Certainly did not take effect.</summary>
    Fail,

    /// <summary>Unknown: a write that timed out or lost its connection may or may not have happened.</summary>
    Info,
}

/// <summary>One completed operation, kept in memory for the reports (timeline, latency, throughput).</summary>
public sealed record OperationRecord(string Workload, int Process, string Function, long InvokeNanos, long CompleteNanos, OperationOutcome Outcome);
