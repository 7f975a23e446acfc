using System.Buffers.Binary;

namespace KvStore.Server.Mvcc;

/// <summary>
/// The layout of the MVCC store inside the LSM tree. Every LSM key starts with a one-byte
/// namespace tag. Stored on disk and in snapshots: do not change the tags or encodings.
/// </summary>
/// <remarks>
/// <code>
/// 'k' versions:  'k' | esc(K) | 0x00 0x01 | ~revision (u64 big-endian)
///                  -> VersionRecord (see VersionRecord.cs): kind, sub, create, version, lease, value
/// 'e' events:    'e' | revision (u64 BE) | sub (u32 BE)
///                  -> event type (u8: 0 = put, 1 = delete) | K
/// 'm' meta:      'm' | name (ASCII): "rev", "compact", "keys", "applied", "clock", "restoring"
///                  -> i64 little-endian (restoring: the snapshot index being loaded)
/// 's' sessions:  's' | client id (u64 BE) -> SessionRecord (see SessionRecord.cs)
/// 't' deadlines: 't' | deadline unix ms (u64 BE) | client id (u64 BE) -> u8 (0 = live session, 1 = expired marker)
/// 'x' expired:   'x' | client id (u64 BE) -> deadline of the marker (i64 LE)
/// 'g' grants:    'g' | lock name (raw) -> LockGrantRecord (see Locks/LockGrantRecord.cs): token, lock delay, holder key
/// 'l' leases:    'l' | lease id (u64 BE) -> LeaseRecord (see src/Server/Leases/LeaseRecord.cs)
/// 'a' attached:  'a' | lease id (u64 BE) | K -> empty: K's newest version carries that lease
/// 'n' sequence:  'n' | P -> i64 LE, the last number a sequential put under prefix P appended
/// 'm' "lease"    -> i64 LE, the last lease id the store chose itself
/// </code>
/// esc(K) is an order-preserving, self-delimiting escape of the user key: each 0x00 byte becomes
/// 0x00 0xFF and the key ends with 0x00 0x01 (the bytes encoding of FoundationDB's tuple layer and
/// CockroachDB). So K1 &lt; K2 (bytewise) iff esc(K1)+terminator &lt; esc(K2)+terminator, whatever
/// follows: a user-key range maps to one LSM key range, and all versions of K are adjacent.
///
/// Versions are ordered newest first (the revision is stored bit-complemented): "latest version of
/// K" is the first entry at K's prefix, and "K as of revision R" is one seek to prefix(K) + ~R,
/// which lands on the newest version with revision ≤ R. Reads of the newest state — the common
/// case — never step over history. Within one revision a key has at most one version (a txn may
/// not put and delete the same key), so the revision alone identifies a version.
///
/// The event index is ordered by (revision, sub): "all events in revisions [a, b]" is the range
/// ['e'|a, 'e'|b+1) — watches (issue 5) replay history from it and fetch each event's version.
/// The 't' index orders sessions and expired-session markers by deadline, so expiry is a scan of
/// its head.
///
/// A lease's attachments are adjacent ('a' | id), so revoking it reads exactly its keys. A lease
/// record outlives its lease (state revoked or expired, for KvStateMachineOptions.EndedLeaseRetention)
/// so that the lock service can tell an expiry from a client's revoke and when it happened
/// (Chubby's lock-delay).
/// </remarks>
public static class MvccKeys
{
    public const byte VersionTag = (byte)'k';
    public const byte EventTag = (byte)'e';
    public const byte MetaTag = (byte)'m';
    public const byte SessionTag = (byte)'s';
    public const byte DeadlineTag = (byte)'t';
    public const byte ExpiredSessionTag = (byte)'x';
    public const byte GrantTag = (byte)'g';
    public const byte LeaseTag = (byte)'l';
    public const byte LeaseAttachmentTag = (byte)'a';
    public const byte SequenceTag = (byte)'n';

    public const int RevisionSuffixSize = 8;

    public static readonly byte[] CurrentRevisionKey = Meta("rev");
    public static readonly byte[] CompactedRevisionKey = Meta("compact");
    public static readonly byte[] KeyCountKey = Meta("keys");
    public static readonly byte[] SessionClockKey = Meta("clock");
    public static readonly byte[] RestoringKey = Meta("restoring");
    public static readonly byte[] AppliedIndexKey = Meta("applied");
    public static readonly byte[] LastLeaseIdKey = Meta("lease");

    /// <summary>First LSM key after every version key.</summary>
    public static readonly byte[] VersionsEnd = [VersionTag + 1];

    /// <summary>'k' | esc(K) | 0x00 0x01: the prefix shared by every version of <paramref name="userKey"/>.</summary>
    public static byte[] VersionPrefix(ReadOnlySpan<byte> userKey)
    {
        int zeros = userKey.Count((byte)0);
        var prefix = new byte[1 + userKey.Length + zeros + 2];
        prefix[0] = VersionTag;
        int p = 1;
        foreach (byte b in userKey)
        {
            prefix[p++] = b;
            if (b == 0)
            {
                prefix[p++] = 0xFF;
            }
        }

        prefix[p++] = 0x00;
        prefix[p] = 0x01;
        return prefix;
    }

    public static byte[] VersionKey(ReadOnlySpan<byte> userKey, long revision) => VersionKeyFromPrefix(VersionPrefix(userKey), revision);

    /// <summary>The version key of revision <paramref name="revision"/> under a <see cref="VersionPrefix"/>.</summary>
    public static byte[] VersionKeyFromPrefix(byte[] prefix, long revision)
    {
        var key = new byte[prefix.Length + RevisionSuffixSize];
        prefix.CopyTo(key, 0);
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(prefix.Length), ~(ulong)revision);
        return key;
    }

    /// <summary>The revision suffix of a version key.</summary>
    public static long Revision(ReadOnlySpan<byte> versionKey) =>
        (long)~BinaryPrimitives.ReadUInt64BigEndian(versionKey[^RevisionSuffixSize..]);

    /// <summary>Length of the version prefix at the start of <paramref name="key"/> ('k', escaped key, terminator), or -1 if it has none.</summary>
    public static int VersionPrefixLength(ReadOnlySpan<byte> key)
    {
        if (key.Length < 3 || key[0] != VersionTag)
        {
            return -1;
        }

        int i = 1;
        while (i + 1 < key.Length)
        {
            if (key[i] != 0)
            {
                i++;
            }
            else if (key[i + 1] == 0xFF)
            {
                i += 2;
            }
            else
            {
                return key[i + 1] == 0x01 ? i + 2 : -1;
            }
        }

        return -1;
    }

    /// <summary>The user key of a version prefix or version key.</summary>
    public static byte[] UserKey(ReadOnlySpan<byte> versionKey)
    {
        int end = VersionPrefixLength(versionKey);
        if (end < 0)
        {
            throw new InvalidDataException("not an MVCC version key");
        }

        var escaped = versionKey[1..(end - 2)];
        var key = new byte[escaped.Length - escaped.Count((byte)0)];
        int p = 0;
        for (int i = 0; i < escaped.Length; i++)
        {
            key[p++] = escaped[i];
            if (escaped[i] == 0)
            {
                i++;
            }
        }

        return key;
    }

    public static byte[] EventKey(long revision, int sub)
    {
        var key = new byte[13];
        key[0] = EventTag;
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(1), (ulong)revision);
        BinaryPrimitives.WriteUInt32BigEndian(key.AsSpan(9), (uint)sub);
        return key;
    }

    /// <summary>First event key of revision <paramref name="revision"/>.</summary>
    public static byte[] EventRevisionStart(long revision) => EventKey(revision, 0);

    public static long EventRevision(ReadOnlySpan<byte> eventKey) => (long)BinaryPrimitives.ReadUInt64BigEndian(eventKey[1..]);

    public static int EventSub(ReadOnlySpan<byte> eventKey) => (int)BinaryPrimitives.ReadUInt32BigEndian(eventKey[9..]);

    public static byte[] SessionKey(ulong clientId) => TaggedId(SessionTag, clientId);

    /// <summary>The client id of a session or expired-session key.</summary>
    public static ulong ClientOfSessionKey(ReadOnlySpan<byte> key) => BinaryPrimitives.ReadUInt64BigEndian(key[1..]);

    public static byte[] ExpiredSessionKey(ulong clientId) => TaggedId(ExpiredSessionTag, clientId);

    public static byte[] DeadlineKey(long deadlineUnixMs, ulong clientId)
    {
        var key = new byte[17];
        key[0] = DeadlineTag;
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(1), (ulong)Math.Max(0, deadlineUnixMs));
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(9), clientId);
        return key;
    }

    public static long DeadlineOf(ReadOnlySpan<byte> deadlineKey) => (long)BinaryPrimitives.ReadUInt64BigEndian(deadlineKey[1..]);

    public static ulong ClientOfDeadline(ReadOnlySpan<byte> deadlineKey) => BinaryPrimitives.ReadUInt64BigEndian(deadlineKey[9..]);

    public static byte[] LeaseKey(long leaseId) => TaggedId(LeaseTag, (ulong)leaseId);

    /// <summary>The lease id of a lease key or an attachment key.</summary>
    public static long LeaseOfKey(ReadOnlySpan<byte> key) => (long)BinaryPrimitives.ReadUInt64BigEndian(key[1..]);

    /// <summary>'a' | id: the prefix of every attachment of lease <paramref name="leaseId"/>.</summary>
    public static byte[] LeaseAttachmentPrefix(long leaseId) => TaggedId(LeaseAttachmentTag, (ulong)leaseId);

    public static byte[] LeaseAttachmentKey(long leaseId, ReadOnlySpan<byte> userKey)
    {
        var key = new byte[9 + userKey.Length];
        key[0] = LeaseAttachmentTag;
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(1), (ulong)leaseId);
        userKey.CopyTo(key.AsSpan(9));
        return key;
    }

    /// <summary>The user key of an attachment key.</summary>
    public static byte[] AttachedUserKey(ReadOnlySpan<byte> attachmentKey) => attachmentKey[9..].ToArray();

    public static byte[] SequenceKey(ReadOnlySpan<byte> prefix)
    {
        var key = new byte[1 + prefix.Length];
        key[0] = SequenceTag;
        prefix.CopyTo(key.AsSpan(1));
        return key;
    }

    /// <summary>The first key after every key that starts with <paramref name="prefix"/>, or null when there is none (all 0xFF).</summary>
    public static byte[]? PrefixEnd(ReadOnlySpan<byte> prefix)
    {
        for (int i = prefix.Length - 1; i >= 0; i--)
        {
            if (prefix[i] != 0xFF)
            {
                byte[] end = prefix[..(i + 1)].ToArray();
                end[i]++;
                return end;
            }
        }

        return null;
    }

    public static byte[] Int64Value(long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        return bytes;
    }

    public static long ReadInt64Value(ReadOnlySpan<byte> value) =>
        value.Length == 8 ? BinaryPrimitives.ReadInt64LittleEndian(value) : throw new InvalidDataException($"meta value of {value.Length} bytes, expected 8");

    private static byte[] Meta(string name)
    {
        var key = new byte[1 + name.Length];
        key[0] = MetaTag;
        for (int i = 0; i < name.Length; i++)
        {
            key[i + 1] = (byte)name[i];
        }

        return key;
    }

    private static byte[] TaggedId(byte tag, ulong id)
    {
        var key = new byte[9];
        key[0] = tag;
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(1), id);
        return key;
    }
}
