using System.Buffers.Binary;
using Google.Protobuf;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Server.Mvcc;

/// <summary>
/// The value of a version key (<see cref="MvccKeys.VersionKey(ReadOnlySpan{byte}, long)"/>): one
/// version of a user key — a put or a tombstone. The mod revision is the key's revision suffix.
/// </summary>
/// <remarks>
/// Layout (stored on disk; do not change):
/// <code>
///   kind u8 (0 = tombstone, 1 = put) | sub u32 LE | create_revision i64 LE | version i64 LE | lease i64 LE | value bytes (rest)
/// </code>
/// A tombstone has create_revision = version = lease = 0 and no value. Tombstones stay until a
/// compaction passes them, so reads at older revisions and watch replay see the deletion.
/// </remarks>
public readonly record struct VersionRecord(bool IsTombstone, int Sub, long CreateRevision, long Version, long Lease, ReadOnlyMemory<byte> Value)
{
    public const int HeaderSize = 1 + 4 + 8 + 8 + 8;

    public static VersionRecord Tombstone(int sub) => new(true, sub, 0, 0, 0, ReadOnlyMemory<byte>.Empty);

    public byte[] Encode()
    {
        var bytes = new byte[HeaderSize + Value.Length];
        bytes[0] = IsTombstone ? (byte)0 : (byte)1;
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(1), Sub);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(5), CreateRevision);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(13), Version);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(21), Lease);
        Value.Span.CopyTo(bytes.AsSpan(HeaderSize));
        return bytes;
    }

    /// <summary>Decodes a stored version; <paramref name="withValue"/> false skips copying the value (keys-only reads).</summary>
    public static VersionRecord Decode(ReadOnlySpan<byte> bytes, bool withValue = true)
    {
        if (bytes.Length < HeaderSize || bytes[0] > 1)
        {
            throw new InvalidDataException($"MVCC version record of {bytes.Length} bytes with kind {(bytes.Length > 0 ? bytes[0] : -1)} is malformed");
        }

        return new VersionRecord(
            bytes[0] == 0,
            BinaryPrimitives.ReadInt32LittleEndian(bytes[1..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[5..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[13..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[21..]),
            withValue ? bytes[HeaderSize..].ToArray() : ReadOnlyMemory<byte>.Empty);
    }

    public KeyValue ToKeyValue(byte[] userKey, long modRevision) => new()
    {
        Key = ByteString.CopyFrom(userKey),
        CreateRevision = CreateRevision,
        ModRevision = modRevision,
        Version = Version,
        Lease = Lease,
        Value = Value.IsEmpty ? ByteString.Empty : ByteString.CopyFrom(Value.Span),
    };
}
