namespace KvStore.Jepsen.Histories;

/// <summary>
/// One client operation of a history: an invocation matched with its completion. Times order the
/// operations in real time; an operation whose outcome is unknown returns at
/// <see cref="long.MaxValue"/> (+infinity), so a linearization may place it anywhere after its
/// invocation, including after everything else, which is the same as never.
/// </summary>
/// <param name="Id">Index in the history, in invocation order.</param>
/// <param name="Process">The client process.</param>
/// <param name="Function">The operation kind.</param>
/// <param name="Key">The key, or null for a single-object history.</param>
/// <param name="Input">The invocation's value (what to write, [expected new] for a cas).</param>
/// <param name="Output">The ok completion's value (what a read returned); nil when unknown.</param>
/// <param name="OutcomeKnown">False for an :info completion or an invocation that never completed.</param>
/// <param name="CallTime">When the call happened (nanoseconds, or the event's index in the file).</param>
/// <param name="ReturnTime">When the response arrived; <see cref="long.MaxValue"/> when unknown.</param>
/// <param name="Invoked">Where the invocation was read.</param>
/// <param name="Completed">Where the completion was read; null if the operation never completed.</param>
public sealed record Operation(
    int Id,
    long Process,
    OperationFunction Function,
    string? Key,
    HistoryValue Input,
    HistoryValue Output,
    bool OutcomeKnown,
    long CallTime,
    long ReturnTime,
    SourcePosition Invoked,
    SourcePosition? Completed)
{
    /// <summary>The return time of an operation of unknown outcome.</summary>
    public const long Infinity = long.MaxValue;
}
