namespace KvStore.Client;

/// <summary>The outcome of a range read.</summary>
/// <param name="Header">Who answered; <see cref="KvResponseHeader.Revision"/> is the revision the read saw.</param>
/// <param name="Kvs">The keys found, in the requested order (empty for a count-only read).</param>
/// <param name="More">True when the range holds more keys than were returned (limit).</param>
/// <param name="Count">The number of keys in the range, whatever the limit.</param>
public sealed record RangeResult(KvResponseHeader Header, IReadOnlyList<KvPair> Kvs, bool More, long Count);
