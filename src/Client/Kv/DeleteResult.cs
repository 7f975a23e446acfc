namespace KvStore.Client;

/// <summary>The outcome of a delete.</summary>
/// <param name="Header">Who answered; <see cref="KvResponseHeader.Revision"/> is the revision after the delete.</param>
/// <param name="Deleted">How many keys were deleted.</param>
/// <param name="PrevKvs">The deleted pairs, when <see cref="DeleteOptions.PrevKv"/> was asked for.</param>
public sealed record DeleteResult(KvResponseHeader Header, long Deleted, IReadOnlyList<KvPair> PrevKvs);
