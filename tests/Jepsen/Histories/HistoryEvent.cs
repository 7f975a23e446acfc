namespace KvStore.Jepsen.Histories;

/// <summary>
/// One line of a history: a process invoked or completed an operation.
/// </summary>
/// <param name="Process">The client process (Jepsen's <c>:process</c>).</param>
/// <param name="Type">Invoke or one of the three completions.</param>
/// <param name="Function">The operation kind.</param>
/// <param name="Key">The key for multi-key workloads; null for a single register.</param>
/// <param name="Value">The input (on invoke) or the result (on an ok completion).</param>
/// <param name="Time">Nanoseconds when the file records them; null when only file order is known.</param>
/// <param name="Position">The file and line the event came from.</param>
public sealed record HistoryEvent(
    long Process,
    EventType Type,
    OperationFunction Function,
    string? Key,
    HistoryValue Value,
    long? Time,
    SourcePosition Position);
