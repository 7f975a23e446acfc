namespace KvStore.Jepsen.Nemesis;

/// <summary>One fault as it happened: what, and from when to when (run-clock nanoseconds; End is
/// null while the fault is active).</summary>
public sealed record FaultWindow(string Nemesis, string Description, long StartNanos)
{
    public long? EndNanos { get; set; }

    /// <summary>Why healing failed, or null.</summary>
    public string? HealError { get; set; }
}
