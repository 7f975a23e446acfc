using KvStore.Client.Protocol.Messages;
using KvStore.Server.Leases;
using KvStore.Server.Protos;

namespace KvStore.Server.Mvcc;

/// <summary>
/// The lease commands of an <see cref="MvccWrite"/>, and the attachment bookkeeping puts and
/// deletes do: invariant, after every command, 'a' | L | K exists iff K is live and its newest
/// version carries lease L, and then L is live. So a revocation deletes exactly the lease's keys,
/// in the revocation's one revision.
/// </summary>
public sealed partial class MvccWrite
{
    /// <summary>
    /// The largest TTL a lease may ask for (etcd's limit): its milliseconds, added to any clock,
    /// stay far from overflowing a long.
    /// </summary>
    public const long MaxLeaseTtlSeconds = 9_000_000_000;

    private List<LeaseChange>? _leaseChanges;

    /// <summary>The lease changes of this command, reported by the state machine once committed.</summary>
    internal IReadOnlyList<LeaseChange> LeaseChanges => _leaseChanges ?? [];

    /// <summary>Grants a lease (TTL at least <paramref name="minTtlSeconds"/>); the id is the request's or the next free one.</summary>
    public LeaseGrantResponse GrantLease(LeaseGrantRequest request, long nowUnixMs, long minTtlSeconds)
    {
        ArgumentNullException.ThrowIfNull(request);
        StartCommand();
        if (request.TtlSeconds < minTtlSeconds)
        {
            throw new MvccException(ErrorCode.InvalidArgument, $"lease grant: a TTL of {request.TtlSeconds}s is below the minimum of {minTtlSeconds}s (a lease must outlast a leader election)");
        }

        if (request.TtlSeconds > MaxLeaseTtlSeconds)
        {
            throw new MvccException(ErrorCode.InvalidArgument, $"lease grant: a TTL of {request.TtlSeconds}s is above the maximum of {MaxLeaseTtlSeconds}s");
        }

        long id = request.Id;
        if (id < 0)
        {
            throw new MvccException(ErrorCode.InvalidArgument, $"lease grant: lease id {id} is negative");
        }

        if (id > 0 && FindLease(id) is { IsLive: true })
        {
            throw new MvccException(ErrorCode.InvalidArgument, $"lease grant: lease {id} already exists");
        }

        if (id == 0)
        {
            // Ids the store chooses only grow (the last one is stored) and skip every id that has a
            // record (one a client chose), so an ended lease's record — which the lock service
            // reads — is never overwritten by them, and an id the store chose is never chosen again.
            id = Store.TryGetRaw(MvccKeys.LastLeaseIdKey, out byte[] last) ? MvccKeys.ReadInt64Value(last) : 0;
            do
            {
                id++;
            }
            while (FindLease(id) != null);
            Batch.Put(MvccKeys.LastLeaseIdKey, MvccKeys.Int64Value(id));
        }

        long remainingMs = request.TtlSeconds * 1000;
        Batch.Put(MvccKeys.LeaseKey(id), new LeaseRecord(LeaseState.Live, request.TtlSeconds, remainingMs, nowUnixMs).Encode());
        (_leaseChanges ??= []).Add(new LeaseChange(id, LeaseChangeKind.Granted, request.TtlSeconds, remainingMs, Expired: false));
        return new LeaseGrantResponse { Header = Header(), Id = id, TtlSeconds = request.TtlSeconds };
    }

    /// <summary>Ends a live lease: deletes all its keys in this command's one revision and records how and when it ended.</summary>
    public LeaseRevokeResponse RevokeLease(LeaseRevokeCommand command, long nowUnixMs)
    {
        ArgumentNullException.ThrowIfNull(command);
        StartCommand();
        LeaseRecord record = RequireLiveLease(command.Id, command.Expired ? "lease expiry" : "lease revoke");
        EndLease(command.Id, record, command.Expired, nowUnixMs);
        return new LeaseRevokeResponse { Header = Header() };
    }

    /// <summary>Expires every still-live lease of the command, all keys in this command's one revision; others are skipped.</summary>
    public LeaseExpireResult ExpireLeases(LeaseExpireCommand command, long nowUnixMs)
    {
        ArgumentNullException.ThrowIfNull(command);
        StartCommand();
        int expired = 0;
        foreach (long id in command.Ids.Distinct())
        {
            if (FindLease(id) is { IsLive: true } record)
            {
                EndLease(id, record, expired: true, nowUnixMs);
                expired++;
            }
        }

        return new LeaseExpireResult { Header = Header(), Expired = expired };
    }

    /// <summary>Deletes the records of leases that ended at least <paramref name="retentionMs"/> before <paramref name="nowUnixMs"/>; others are skipped.</summary>
    public LeaseForgetResult ForgetLeases(LeaseForgetCommand command, long nowUnixMs, long retentionMs)
    {
        ArgumentNullException.ThrowIfNull(command);
        StartCommand();
        int forgotten = 0;
        foreach (long id in command.Ids.Distinct())
        {
            if (FindLease(id) is { IsLive: false } record && nowUnixMs - record.AtUnixMs >= retentionMs)
            {
                Batch.Delete(MvccKeys.LeaseKey(id));
                forgotten++;
            }
        }

        return new LeaseForgetResult { Header = Header(), Forgotten = forgotten };
    }

    private void EndLease(long id, LeaseRecord record, bool expired, long nowUnixMs)
    {
        byte[] prefix = MvccKeys.LeaseAttachmentPrefix(id);
        foreach ((byte[] attachment, _) in Store.RawRange(prefix, MvccKeys.PrefixEnd(prefix)!))
        {
            byte[] key = MvccKeys.AttachedUserKey(attachment);
            Batch.Delete(attachment);
            KeyValue? kv = Latest(key, withValue: false);
            if (kv == null || kv.Lease != id)
            {
                throw new InvalidOperationException($"lease {id} lists key {Describe(key)} as attached, but its newest version carries lease {kv?.Lease.ToString() ?? "none (deleted)"}");
            }

            Record(key, VersionRecord.Tombstone(_sub), null, eventType: 1);
            _keyCountDelta--;
        }

        var ended = record with { State = expired ? LeaseState.Expired : LeaseState.Revoked, RemainingMs = 0, AtUnixMs = nowUnixMs };
        Batch.Put(MvccKeys.LeaseKey(id), ended.Encode());
        (_leaseChanges ??= []).Add(new LeaseChange(id, LeaseChangeKind.Ended, record.GrantedTtlSeconds, 0, expired));
    }

    /// <summary>Records the remaining TTL of live leases (clamped to [0, granted TTL]); ended or unknown leases are skipped.</summary>
    public LeaseCheckpointResult CheckpointLeases(LeaseCheckpointCommand command, long nowUnixMs)
    {
        ArgumentNullException.ThrowIfNull(command);
        StartCommand();
        int applied = 0;
        foreach (LeaseCheckpoint checkpoint in command.Checkpoints)
        {
            if (FindLease(checkpoint.Id) is not { IsLive: true } record)
            {
                continue;
            }

            long remainingMs = Math.Clamp(checkpoint.RemainingMs, 0, record.GrantedTtlSeconds * 1000);
            Batch.Put(MvccKeys.LeaseKey(checkpoint.Id), (record with { RemainingMs = remainingMs, AtUnixMs = nowUnixMs }).Encode());
            (_leaseChanges ??= []).Add(new LeaseChange(checkpoint.Id, LeaseChangeKind.Checkpointed, record.GrantedTtlSeconds, remainingMs, Expired: false));
            applied++;
        }

        return new LeaseCheckpointResult { Header = Header(), Applied = applied };
    }

    /// <summary>Moves K's attachment when a put or delete changes the lease of its newest version (0 = none or deleted).</summary>
    private void MoveAttachment(byte[] key, long fromLease, long toLease)
    {
        if (fromLease == toLease)
        {
            return;
        }

        if (fromLease != 0)
        {
            Batch.Delete(MvccKeys.LeaseAttachmentKey(fromLease, key));
        }

        if (toLease != 0)
        {
            Batch.Put(MvccKeys.LeaseAttachmentKey(toLease, key), []);
        }
    }

    private LeaseRecord RequireLiveLease(long id, string operation)
    {
        if (id > 0 && FindLease(id) is { IsLive: true } record)
        {
            return record;
        }

        throw new MvccException(ErrorCode.LeaseNotFound, $"{operation}: lease {id} not found (never granted, revoked or expired)");
    }

    private LeaseRecord? FindLease(long id) =>
        id > 0 && Store.TryGetRaw(MvccKeys.LeaseKey(id), out byte[] value) ? LeaseRecord.Decode(value, id) : null;
}
