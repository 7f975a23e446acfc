using System.Buffers.Binary;

namespace KvStore.Server.Peers;

/// <summary>
/// The first frame each end of a peer connection sends: who it is and which cluster it belongs to.
/// </summary>
/// <remarks>
/// Payload layout (big-endian, like the frame header; do not change, it is on the wire):
/// <code>
/// offset 0   u8   version (= 1)
/// offset 1   u64  cluster id
/// offset 9   u64  sender node id
/// offset 17  u64  node id the sender expects at the other end (0 = any; the accepting side sends 0)
/// </code>
/// </remarks>
public readonly record struct PeerHandshake(ulong ClusterId, ulong NodeId, ulong ExpectedPeer)
{
    public const byte Version = 1;

    public const int Size = 25;

    public byte[] Encode()
    {
        var bytes = new byte[Size];
        bytes[0] = Version;
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(1), ClusterId);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(9), NodeId);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(17), ExpectedPeer);
        return bytes;
    }

    /// <summary>Decodes a handshake payload; throws <see cref="InvalidDataException"/> naming what is wrong.</summary>
    public static PeerHandshake Decode(ReadOnlySpan<byte> payload)
    {
        if (payload.Length != Size)
        {
            throw new InvalidDataException($"peer handshake has {payload.Length} bytes, expected {Size}");
        }

        if (payload[0] != Version)
        {
            throw new InvalidDataException($"peer handshake version {payload[0]} is not supported (this build speaks {Version})");
        }

        var handshake = new PeerHandshake(
            BinaryPrimitives.ReadUInt64BigEndian(payload[1..]),
            BinaryPrimitives.ReadUInt64BigEndian(payload[9..]),
            BinaryPrimitives.ReadUInt64BigEndian(payload[17..]));
        if (handshake.NodeId == 0)
        {
            throw new InvalidDataException("peer handshake names node 0, which is reserved for 'none'");
        }

        return handshake;
    }
}
