namespace KvStore.Client;

/// <summary>The outcome of a put.</summary>
/// <param name="Header">Who answered; <see cref="KvResponseHeader.Revision"/> is the revision of this put.</param>
/// <param name="PrevKv">The pair before the put, when <see cref="PutOptions.PrevKv"/> was asked for and the key existed.</param>
public sealed record PutResult(KvResponseHeader Header, KvPair? PrevKv)
{
    /// <summary>The key written by a <see cref="PutOptions.Sequential"/> put (prefix + number); null otherwise.</summary>
    public byte[]? Key { get; init; }

    /// <summary><see cref="Key"/> decoded as UTF-8; null when the put was not sequential.</summary>
    public string? KeyString => Key is null ? null : System.Text.Encoding.UTF8.GetString(Key);
}
