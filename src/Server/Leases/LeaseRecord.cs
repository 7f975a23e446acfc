using System.Buffers.Binary;

namespace KvStore.Server.Leases;

/// <summary>Whether a lease is alive, and if not, how it ended.</summary>
/// <remarks>Stored in <see cref="LeaseRecord"/>: do not change the values.</remarks>
public enum LeaseState : byte
{
    Live = 0,

    /// <summary>A client revoked it (LeaseRevoke).</summary>
    Revoked = 1,

    /// <summary>The leader's lease service found its TTL elapsed and proposed the revocation.</summary>
    Expired = 2,
}

/// <summary>
/// The value of a lease key (<c>'l' | id</c>, see <see cref="Mvcc.MvccKeys"/>): a lease as the
/// replicated state knows it.
/// </summary>
/// <remarks>
/// Layout (stored on disk and in snapshots; do not change):
/// <code>
///   state u8 (LeaseState) | granted_ttl_seconds i64 LE | remaining_ms i64 LE | at_unix_ms i64 LE
/// </code>
/// For a live lease, remaining_ms is the TTL left as of at_unix_ms (the state machine clock of the
/// grant or of the latest checkpoint): a new leader grants the lease at most that plus one election
/// timeout. For an ended lease, remaining_ms is 0 and at_unix_ms is the state machine clock of the
/// command that ended it (the lock service's lock-delay counts from it).
/// </remarks>
public readonly record struct LeaseRecord(LeaseState State, long GrantedTtlSeconds, long RemainingMs, long AtUnixMs)
{
    public const int Size = 1 + 8 + 8 + 8;

    public bool IsLive => State == LeaseState.Live;

    public byte[] Encode()
    {
        var bytes = new byte[Size];
        bytes[0] = (byte)State;
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(1), GrantedTtlSeconds);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(9), RemainingMs);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(17), AtUnixMs);
        return bytes;
    }

    /// <exception cref="InvalidDataException">The bytes are not a lease record.</exception>
    public static LeaseRecord Decode(ReadOnlySpan<byte> bytes, long leaseId)
    {
        if (bytes.Length != Size || bytes[0] > (byte)LeaseState.Expired)
        {
            throw new InvalidDataException($"the record of lease {leaseId} is malformed ({bytes.Length} bytes, state {(bytes.IsEmpty ? -1 : bytes[0])})");
        }

        return new LeaseRecord(
            (LeaseState)bytes[0],
            BinaryPrimitives.ReadInt64LittleEndian(bytes[1..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[9..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[17..]));
    }
}
