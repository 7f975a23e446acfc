using System.Buffers.Binary;

namespace KvStore.Server.Locks;

/// <summary>
/// The grant record of one lock: which waiter key holds (or last held) the lock and with what
/// fencing token. One per lock name, in the MVCC store's LSM under the 'g' namespace
/// (<see cref="Mvcc.MvccKeys.GrantTag"/>), so it is in every snapshot and survives restarts and
/// compaction (compaction only touches the 'k' and 'e' namespaces).
/// </summary>
/// <remarks>
/// <para>The lock is HELD iff <see cref="HolderKey"/> still exists with create_revision ==
/// <see cref="Token"/>; deleting the holder key (unlock, lease revoke or expiry) frees it without
/// touching this record. <see cref="Token"/> only grows: a grant below it is refused, so a
/// fencing token is never reused or reordered for a name.</para>
/// Layout (stored on disk and in snapshots; do not change):
/// <code>
/// key:   'g' | name (raw bytes; the namespace holds nothing else)
/// value: format u8 (1) | token i64 LE | lock_delay_ms i64 LE | granted_at_ms i64 LE | expired_at_ms i64 LE | holder key (rest)
/// </code>
/// token 0 and an empty holder key: the lock has waiters but was never granted.
/// expired_at_ms: the issued_at of the command that deleted the holder key because its lease
/// EXPIRED (0 otherwise) — Chubby's lock-delay counts from it.
/// </remarks>
public sealed record LockGrantRecord(long Token, long LockDelayMs, long GrantedAtUnixMs, long ExpiredAtUnixMs, byte[] HolderKey)
{
    private const byte Format = 1;
    private const int HeaderSize = 1 + (4 * 8);

    /// <summary>The record of a lock that has waiters but was never granted.</summary>
    public static LockGrantRecord NeverGranted { get; } = new(0, 0, 0, 0, []);

    public static byte[] KeyOf(ReadOnlySpan<byte> name)
    {
        var key = new byte[1 + name.Length];
        key[0] = Mvcc.MvccKeys.GrantTag;
        name.CopyTo(key.AsSpan(1));
        return key;
    }

    /// <summary>The lock name of a 'g' key.</summary>
    public static byte[] NameOf(ReadOnlySpan<byte> key) => key[1..].ToArray();

    public byte[] Encode()
    {
        var bytes = new byte[HeaderSize + HolderKey.Length];
        bytes[0] = Format;
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(1), Token);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(9), LockDelayMs);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(17), GrantedAtUnixMs);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(25), ExpiredAtUnixMs);
        HolderKey.CopyTo(bytes.AsSpan(HeaderSize));
        return bytes;
    }

    /// <exception cref="InvalidDataException">The bytes are not a grant record.</exception>
    public static LockGrantRecord Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < HeaderSize || bytes[0] != Format)
        {
            throw new InvalidDataException($"lock grant record of {bytes.Length} bytes with format {(bytes.Length > 0 ? bytes[0] : -1)} is malformed");
        }

        return new LockGrantRecord(
            BinaryPrimitives.ReadInt64LittleEndian(bytes[1..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[9..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[17..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[25..]),
            bytes[HeaderSize..].ToArray());
    }
}
