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
