namespace KvStore.Jepsen.Linearizability;

/// <summary>The outcome of a linearizability check.</summary>
public enum Verdict
{
    /// <summary>Some order of the operations satisfies the model.</summary>
    Linearizable,

    /// <summary>No order does: the history shows a consistency violation.</summary>
    NotLinearizable,

    /// <summary>The time budget ran out before the search finished.</summary>
    Unknown,
}
