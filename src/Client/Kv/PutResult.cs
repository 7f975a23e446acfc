namespace KvStore.Client;

/// <summary>The outcome of a put.</summary>
/// <param name="Header">Who answered; <see cref="KvResponseHeader.Revision"/> is the revision of this put.</param>
/// <param name="PrevKv">The pair before the put, when <see cref="PutOptions.PrevKv"/> was asked for and the key existed.</param>
public sealed record PutResult(KvResponseHeader Header, KvPair? PrevKv);
