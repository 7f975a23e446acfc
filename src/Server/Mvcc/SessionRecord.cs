using System.Buffers.Binary;
using Google.Protobuf;
using KvStore.Server.Protos;

namespace KvStore.Server.Mvcc;

/// <summary>
/// One client session's exactly-once state (Raft dissertation §6.3): the last sequence applied,
/// when it was last touched (state-machine clock) and the answer it got.
/// </summary>
/// <remarks>
/// Value of <see cref="MvccKeys.SessionKey"/> (stored on disk; do not change):
/// <code>
///   last sequence u64 LE | last touched unix ms i64 LE | deadline unix ms i64 LE | KvCommandResult protobuf bytes (rest)
/// </code>
/// The deadline is stored rather than recomputed so that a changed session TTL never loses the
/// session's entry in the deadline index.
/// </remarks>
public sealed record SessionRecord(ulong LastSequence, long LastTouchedUnixMs, long DeadlineUnixMs, KvCommandResult LastResult)
{
    private const int HeaderSize = 24;

    public byte[] Encode()
    {
        byte[] result = LastResult.ToByteArray();
        var bytes = new byte[HeaderSize + result.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, LastSequence);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), LastTouchedUnixMs);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(16), DeadlineUnixMs);
        result.CopyTo(bytes, HeaderSize);
        return bytes;
    }

    public static SessionRecord Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < HeaderSize)
        {
            throw new InvalidDataException($"session record of {bytes.Length} bytes is shorter than its {HeaderSize}-byte header");
        }

        return new SessionRecord(
            BinaryPrimitives.ReadUInt64LittleEndian(bytes),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[16..]),
            KvCommandResult.Parser.ParseFrom(bytes[HeaderSize..]));
    }
}
