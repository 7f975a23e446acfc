using KvStore.Jepsen.Histories;

namespace KvStore.Jepsen.Linearizability;

/// <summary>The verdict on a whole history, with one result per independent part.</summary>
/// <param name="Model">The model checked against.</param>
/// <param name="Verdict">NotLinearizable if any part is; otherwise Unknown if any part ran out of time.</param>
/// <param name="Partitions">Every part, in the order checked; parts not reached before the budget ran out are Unknown.</param>
/// <param name="Elapsed">Wall-clock time of the search.</param>
public sealed record CheckResult(string Model, Verdict Verdict, IReadOnlyList<PartitionResult> Partitions, TimeSpan Elapsed);

/// <summary>The verdict on one independent part of a history.</summary>
/// <param name="Label">The part's name (e.g. <c>key "4"</c>).</param>
/// <param name="OperationCount">Operations the search had to order.</param>
/// <param name="Verdict">This part's verdict.</param>
/// <param name="Counterexample">Set when <paramref name="Verdict"/> is NotLinearizable.</param>
public sealed record PartitionResult(string Label, int OperationCount, Verdict Verdict, Counterexample? Counterexample);

/// <summary>
/// Why a part is not linearizable: the longest prefix the search could linearize and the
/// operations it could not place next. Every one of them was tried; each was either rejected by
/// the model in the state the prefix leaves, or accepted but led to a dead end further on.
/// </summary>
/// <param name="Prefix">The longest linearizable prefix found, in linearization order.</param>
/// <param name="TotalOperations">Operations in the part.</param>
/// <param name="StateAfterPrefix">The model's state after the prefix.</param>
/// <param name="Stuck">The operations that could have come next in real time.</param>
public sealed record Counterexample(
    IReadOnlyList<DescribedOperation> Prefix,
    int TotalOperations,
    string StateAfterPrefix,
    IReadOnlyList<StuckOperation> Stuck);

/// <summary>An operation with the model's description of it.</summary>
public sealed record DescribedOperation(Operation Operation, string Description);

/// <summary>An operation that could not be linearized right after the longest prefix.</summary>
/// <param name="Operation">The operation.</param>
/// <param name="Description">The model's description of it.</param>
/// <param name="RejectedByModel">True if the model refuses it in the state after the prefix;
/// false if the model accepts it there but no order of the rest completes the history.</param>
public sealed record StuckOperation(Operation Operation, string Description, bool RejectedByModel);
