using KvStore.Jepsen.Histories;

namespace KvStore.Jepsen.Linearizability;

/// <summary>
/// Why a part is not linearizable: the longest prefix the search could linearize and the
/// operations real-time order allows next. The model refuses every one of them in the state the
/// prefix leaves: one it accepted would have made a longer prefix (or reached a configuration
/// that did), so the search would have recorded that instead.
/// </summary>
/// <param name="Prefix">The longest linearizable prefix found, in linearization order.</param>
/// <param name="TotalOperations">Operations in the part.</param>
/// <param name="StateAfterPrefix">The model's state after the prefix.</param>
/// <param name="Stuck">The operations that could have come next in real time, none of which the model accepts.</param>
public sealed record Counterexample(
    IReadOnlyList<DescribedOperation> Prefix,
    int TotalOperations,
    string StateAfterPrefix,
    IReadOnlyList<DescribedOperation> Stuck);

/// <summary>An operation with the model's description of it (kind, input, output).</summary>
public sealed record DescribedOperation(Operation Operation, string Description);
