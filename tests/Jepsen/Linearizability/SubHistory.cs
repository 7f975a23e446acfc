using KvStore.Jepsen.Histories;

namespace KvStore.Jepsen.Linearizability;

/// <summary>An independent part of a history (one key), checked on its own.</summary>
/// <param name="Label">How reports name the part, e.g. <c>key "4"</c>.</param>
/// <param name="Operations">Its operations in invocation order.</param>
public sealed record SubHistory(string Label, IReadOnlyList<Operation> Operations);
