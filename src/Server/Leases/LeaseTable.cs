using KvStore.Server.Mvcc;

namespace KvStore.Server.Leases;

/// <summary>
/// Read access to the leases of the replicated state (the 'l' and 'a' namespaces of an
/// <see cref="MvccStore"/>), as of the last applied command on this node. Thread-safe: it reads
/// the LSM, which the applying thread updates one whole command at a time.
/// </summary>
/// <remarks>
/// This is the applied state, not the leader's clock: whether a lease is still alive in time is
/// the leader's <see cref="LeaseService"/>'s business; here a lease is live until the command that
/// revokes or expires it has been applied.
/// </remarks>
public sealed class LeaseTable
{
    private readonly MvccStore _store;

    public LeaseTable(MvccStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
    }

    /// <summary>Whether lease <paramref name="id"/> is live (granted and not yet revoked or expired).</summary>
    public bool Exists(long id) => Find(id) is { IsLive: true };

    /// <summary>The record of lease <paramref name="id"/> — live or ended — or null if it was never granted (or its id was reused).</summary>
    public LeaseRecord? Find(long id)
    {
        if (id <= 0 || !_store.TryGetRaw(MvccKeys.LeaseKey(id), out byte[] value))
        {
            return null;
        }

        return LeaseRecord.Decode(value, id);
    }

    /// <summary>The TTL lease <paramref name="id"/> was granted with, in seconds; null if it is not live.</summary>
    public long? GrantedTtlSeconds(long id) => Find(id) is { IsLive: true } r ? r.GrantedTtlSeconds : null;

    /// <summary>The remaining TTL recorded by the grant or the latest checkpoint (ms); null if the lease is not live.</summary>
    public long? CheckpointedRemainingMs(long id) => Find(id) is { IsLive: true } r ? r.RemainingMs : null;

    /// <summary>
    /// How lease <paramref name="id"/> ended: <paramref name="expired"/> (the leader expired it) or a
    /// client's revoke, and the state machine clock (unix ms: the largest issued_at applied so far)
    /// of the command that ended it. False if the lease is live or unknown.
    /// </summary>
    public bool TryGetEnd(long id, out bool expired, out long endedAtUnixMs)
    {
        if (Find(id) is { IsLive: false } r)
        {
            expired = r.State == LeaseState.Expired;
            endedAtUnixMs = r.AtUnixMs;
            return true;
        }

        expired = false;
        endedAtUnixMs = 0;
        return false;
    }

    /// <summary>The keys attached to lease <paramref name="id"/>, in key order.</summary>
    public IReadOnlyList<byte[]> AttachedKeys(long id)
    {
        byte[] prefix = MvccKeys.LeaseAttachmentPrefix(id);
        return _store.RawRange(prefix, MvccKeys.PrefixEnd(prefix)!).Select(e => MvccKeys.AttachedUserKey(e.Key)).ToList();
    }

    /// <summary>Every live lease with its record, in id order.</summary>
    public IEnumerable<(long Id, LeaseRecord Record)> Live() => All().Where(l => l.Record.IsLive);

    /// <summary>Every ended lease whose record is still kept, in id order.</summary>
    public IEnumerable<(long Id, LeaseRecord Record)> Ended() => All().Where(l => !l.Record.IsLive);

    private IEnumerable<(long Id, LeaseRecord Record)> All()
    {
        foreach ((byte[] key, byte[] value) in _store.RawRange([MvccKeys.LeaseTag], [MvccKeys.LeaseTag + 1]))
        {
            long id = MvccKeys.LeaseOfKey(key);
            yield return (id, LeaseRecord.Decode(value, id));
        }
    }
}
