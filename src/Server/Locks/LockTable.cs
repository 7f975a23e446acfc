using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using KvStore.Server.Mvcc;
using KvStore.Server.Protos;

namespace KvStore.Server.Locks;

/// <summary>
/// The lock part of the replicated state: the commands <see cref="LockEnqueue"/>,
/// <see cref="LockGrant"/> and <see cref="LockUnlock"/> applied to an <see cref="MvccWrite"/>, the
/// FENCE compare, and the reads the lock service and the request handlers make. Grant records:
/// <see cref="LockGrantRecord"/>; waiter keys: <see cref="WaiterKeys"/>.
/// </summary>
/// <remarks>
/// Deterministic like the rest of the state machine: its only clock is the command's issued_at.
/// The grant is explicit (proposed by the leader's <see cref="LockService"/>) and re-validated
/// here, at apply time, so that whatever the leader believed, a lock is never granted while
/// held, never to a waiter key that is gone or was re-created, and never with a token that does
/// not grow.
/// </remarks>
public static class LockTable
{
    public static LockEnqueueResult Enqueue(MvccWrite write, LockEnqueue command)
    {
        ArgumentNullException.ThrowIfNull(write);
        ArgumentNullException.ThrowIfNull(command);
        byte[] name = CheckName(command.Name, "lock");
        if (command.Lease == 0)
        {
            throw new MvccException(ErrorCode.InvalidArgument, "lock: a waiter needs a lease (lease 0 given)");
        }

        byte[] key = WaiterKeys.For(name, command.Lease);
        KeyValue? existing = write.LatestVisible(key, withValue: false);
        long createRevision;
        if (existing is null)
        {
            PutResponse put = write.Put(new PutRequest { Key = ByteString.CopyFrom(key), Value = command.Value, Lease = command.Lease });
            createRevision = put.Header.Revision;
        }
        else
        {
            createRevision = existing.CreateRevision;
        }

        byte[] recordKey = LockGrantRecord.KeyOf(name);
        if (!write.Store.TryGetRaw(recordKey, out _))
        {
            write.Batch.Put(recordKey, LockGrantRecord.NeverGranted.Encode());
        }

        return new LockEnqueueResult
        {
            Header = new ResponseHeader { Revision = write.Revision },
            Key = ByteString.CopyFrom(key),
            CreateRevision = createRevision,
            Created = existing is null,
        };
    }

    public static LockGrantResult Grant(MvccWrite write, LockGrant command, long issuedAtUnixMs)
    {
        ArgumentNullException.ThrowIfNull(write);
        ArgumentNullException.ThrowIfNull(command);
        byte[] name = CheckName(command.Name, "lock grant");
        byte[] key = command.Key.ToByteArray();
        if (!WaiterKeys.BelongsTo(key, name))
        {
            throw new MvccException(ErrorCode.InvalidArgument, $"lock grant: {Describe(key)} is not a waiter key of lock {Describe(name)}");
        }

        return Apply(write, name, key, command, issuedAtUnixMs, firstWaiterOnly: false);
    }

    public static UnlockResponse Unlock(MvccWrite write, LockUnlock command, long issuedAtUnixMs)
    {
        ArgumentNullException.ThrowIfNull(write);
        ArgumentNullException.ThrowIfNull(command);
        if (!WaiterKeys.TryGetName(command.Key.Span, out byte[] name))
        {
            throw new MvccException(ErrorCode.InvalidArgument, $"unlock: {Describe(command.Key.ToByteArray())} is not a lock key (NAME/<lease as 16 hex digits>)");
        }

        // Unlocking a key that is already gone succeeds: the lock is released either way.
        DeleteRangeResponse deleted = write.DeleteRange(new DeleteRangeRequest { Key = command.Key });

        // The hand-off the leader embedded (one Raft write instead of unlock + grant). Whatever
        // the leader believed, it is applied only if a standalone grant would be AND its key is
        // still the first waiter; a stale one is ignored (never an error: the unlock itself stands).
        if (command.Next is { } next && next.Name.Span.SequenceEqual(name))
        {
            byte[] key = next.Key.ToByteArray();
            if (WaiterKeys.BelongsTo(key, name))
            {
                Apply(write, name, key, next, issuedAtUnixMs, firstWaiterOnly: true);
            }
        }

        return new UnlockResponse { Header = deleted.Header };
    }

    /// <summary>
    /// Applies grant <paramref name="command"/> if the lock is free, its key exists with its
    /// create_revision and the token grows; with <paramref name="firstWaiterOnly"/>, only if no
    /// older waiter (above the last token) still exists either.
    /// </summary>
    private static LockGrantResult Apply(MvccWrite write, byte[] name, byte[] key, LockGrant command, long issuedAtUnixMs, bool firstWaiterOnly)
    {
        LockGrantRecord record = Read(write.Store, name) ?? LockGrantRecord.NeverGranted;
        long held = HeldToken(write, record);
        string? refusal = null;
        if (held != 0)
        {
            refusal = $"lock {Describe(name)} is held by {Describe(record.HolderKey)} with token {held}";
        }
        else if (command.CreateRevision <= record.Token)
        {
            refusal = $"lock {Describe(name)} was already granted with token {record.Token}; a grant at {command.CreateRevision} would not grow it";
        }
        else if (write.LatestVisible(key, withValue: false) is not { } waiter || waiter.CreateRevision != command.CreateRevision)
        {
            refusal = $"waiter {Describe(key)} created at revision {command.CreateRevision} no longer exists";
        }
        else if (firstWaiterOnly && OlderWaiter(write, name, record.Token, command.CreateRevision) is { } older)
        {
            refusal = $"waiter {Describe(older)} is ahead of {Describe(key)}";
        }

        var result = new LockGrantResult { Header = new ResponseHeader { Revision = write.Revision } };
        if (refusal is not null)
        {
            result.Reason = refusal;
            result.FencingToken = held;
            return result;
        }

        var granted = new LockGrantRecord(command.CreateRevision, Math.Max(0, command.LockDelayMs), issuedAtUnixMs, 0, key);
        write.Batch.Put(LockGrantRecord.KeyOf(name), granted.Encode());
        result.Granted = true;
        result.FencingToken = granted.Token;
        return result;
    }

    /// <summary>
    /// A waiter key of <paramref name="name"/> that this write still sees, created after the last
    /// token and before <paramref name="createRevision"/>; null if there is none. The committed
    /// queue is read and each candidate re-checked through the write, so this command's own
    /// deletes count (a lock command creates no waiter key besides Enqueue's).
    /// </summary>
    private static byte[]? OlderWaiter(MvccWrite write, byte[] name, long token, long createRevision)
    {
        foreach (KeyValue kv in Waiters(write.Store, name))
        {
            if (kv.CreateRevision >= createRevision)
            {
                return null;
            }

            byte[] key = kv.Key.ToByteArray();
            if (kv.CreateRevision > token &&
                write.LatestVisible(key, withValue: false) is { } visible &&
                visible.CreateRevision == kv.CreateRevision)
            {
                return key;
            }
        }

        return null;
    }

    /// <summary>
    /// FENCE compare: the token lock <paramref name="name"/> is held with right now, as this command
    /// sees the store (its own earlier writes included), or 0 when it is free.
    /// </summary>
    public static long CurrentToken(MvccWrite write, byte[] name)
    {
        ArgumentNullException.ThrowIfNull(write);
        return Read(write.Store, name) is { } record ? HeldToken(write, record) : 0;
    }

    /// <summary>
    /// Called for a command that deleted keys because their lease EXPIRED: every lock whose holder
    /// key it deleted remembers when, so the lock-delay (Chubby) counts from then.
    /// </summary>
    public static void NoteExpiredHolders(MvccWrite write, long issuedAtUnixMs)
    {
        ArgumentNullException.ThrowIfNull(write);
        foreach ((byte[] key, KeyValue? after) in write.Changes.ToList())
        {
            if (after is not null || !WaiterKeys.TryGetName(key, out byte[] name) || Read(write.Store, name) is not { } record)
            {
                continue;
            }

            // The committed state (before this command) says whether the deleted key was the holder.
            if (record.HolderKey.AsSpan().SequenceEqual(key) &&
                write.Store.TryGetLatestMetadata(key, out KeyValue before) &&
                before.CreateRevision == record.Token)
            {
                write.Batch.Put(LockGrantRecord.KeyOf(name), (record with { ExpiredAtUnixMs = issuedAtUnixMs }).Encode());
            }
        }
    }

    /// <summary>The grant record of <paramref name="name"/>, or null if the lock never had a waiter. Thread-safe.</summary>
    public static LockGrantRecord? Read(MvccStore store, ReadOnlySpan<byte> name)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.TryGetRaw(LockGrantRecord.KeyOf(name), out byte[] value) ? LockGrantRecord.Decode(value) : null;
    }

    /// <summary>
    /// The current holder of <paramref name="name"/> (its key-value, value included) and its grant
    /// record, from the newest applied state; holder null when the lock is free. Thread-safe.
    /// </summary>
    public static (KeyValue? Holder, LockGrantRecord? Record) ReadHolder(MvccStore store, ReadOnlySpan<byte> name)
    {
        LockGrantRecord? record = Read(store, name);
        if (record is null || record.HolderKey.Length == 0)
        {
            return (null, record);
        }

        KeyValue? kv = store.Get(record.HolderKey, store.CurrentRevision);
        return (kv is not null && kv.CreateRevision == record.Token ? kv : null, record);
    }

    /// <summary>The names of every lock that ever had a waiter, in name order. Thread-safe.</summary>
    public static IEnumerable<byte[]> Names(MvccStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        foreach ((byte[] key, _) in store.RawRange([MvccKeys.GrantTag], [MvccKeys.GrantTag + 1]))
        {
            yield return LockGrantRecord.NameOf(key);
        }
    }

    /// <summary>The waiters of <paramref name="name"/> (holder included), oldest first: the FIFO queue. Thread-safe.</summary>
    public static List<KeyValue> Waiters(MvccStore store, byte[] name)
    {
        ArgumentNullException.ThrowIfNull(store);
        (byte[] begin, byte[] end) = WaiterKeys.RangeOf(name);
        RangeResponse range = store.Range(new RangeRequest { Key = ByteString.CopyFrom(begin), RangeEnd = ByteString.CopyFrom(end), KeysOnly = true });
        return range.Kvs.Where(kv => WaiterKeys.BelongsTo(kv.Key.Span, name)).OrderBy(kv => kv.CreateRevision).ToList();
    }

    private static long HeldToken(MvccWrite write, LockGrantRecord record) =>
        record.HolderKey.Length > 0 &&
        write.LatestVisible(record.HolderKey, withValue: false) is { } holder &&
        holder.CreateRevision == record.Token
            ? record.Token
            : 0;

    private static byte[] CheckName(ByteString name, string what) =>
        name.IsEmpty ? throw new MvccException(ErrorCode.InvalidArgument, $"{what}: the lock name is empty") : name.ToByteArray();

    internal static string Describe(byte[] key) => ByteString.CopyFrom(key).ToStringUtf8() is { Length: <= 80 } text ? $"\"{text}\"" : $"of {key.Length} bytes";
}
