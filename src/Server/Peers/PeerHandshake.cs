using System.Buffers.Binary;
using System.Text;

namespace KvStore.Server.Peers;

/// <summary>
/// The first frame each end of a peer connection sends: who it is, which cluster it belongs to,
/// and where its clients connect (so a leader learns every member's client URL and can publish
/// it through Raft for the not-leader hints).
/// </summary>
/// <remarks>
/// Payload layout (big-endian, like the frame header; do not change, it is on the wire):
/// <code>
/// offset 0   u8   version (= 1)
/// offset 1   u64  cluster id
/// offset 9   u64  sender node id
/// offset 17  u64  node id the sender expects at the other end (0 = any; the accepting side sends 0)
/// offset 25  u16  client URL length n (at most <see cref="MaxClientUrlBytes"/>)
/// offset 27  n bytes of UTF-8: the sender's client URL (HOST:PORT), empty when unknown
/// </code>
/// </remarks>
public readonly record struct PeerHandshake(ulong ClusterId, ulong NodeId, ulong ExpectedPeer, string ClientUrl)
{
    public const byte Version = 1;

    public const int FixedSize = 27;

    public const int MaxClientUrlBytes = 1024;

    public const int MaxSize = FixedSize + MaxClientUrlBytes;

    public byte[] Encode()
    {
        byte[] url = Encoding.UTF8.GetBytes(ClientUrl);
        if (url.Length > MaxClientUrlBytes)
        {
            throw new ArgumentException($"client URL of {url.Length} bytes exceeds {MaxClientUrlBytes}");
        }

        var bytes = new byte[FixedSize + url.Length];
        bytes[0] = Version;
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(1), ClusterId);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(9), NodeId);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(17), ExpectedPeer);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(25), (ushort)url.Length);
        url.CopyTo(bytes.AsSpan(FixedSize));
        return bytes;
    }

    /// <summary>Decodes a handshake payload; throws <see cref="InvalidDataException"/> naming what is wrong.</summary>
    public static PeerHandshake Decode(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < FixedSize)
        {
            throw new InvalidDataException($"peer handshake has {payload.Length} bytes, fewer than {FixedSize}");
        }

        if (payload[0] != Version)
        {
            throw new InvalidDataException($"peer handshake version {payload[0]} is not supported (this build speaks {Version})");
        }

        int urlLength = BinaryPrimitives.ReadUInt16BigEndian(payload[25..]);
        if (urlLength > MaxClientUrlBytes || payload.Length != FixedSize + urlLength)
        {
            throw new InvalidDataException($"peer handshake of {payload.Length} bytes announces a {urlLength}-byte client URL");
        }

        string url;
        try
        {
            url = new UTF8Encoding(false, true).GetString(payload.Slice(FixedSize, urlLength));
        }
        catch (DecoderFallbackException)
        {
            throw new InvalidDataException("peer handshake's client URL is not UTF-8");
        }

        var handshake = new PeerHandshake(
            BinaryPrimitives.ReadUInt64BigEndian(payload[1..]),
            BinaryPrimitives.ReadUInt64BigEndian(payload[9..]),
            BinaryPrimitives.ReadUInt64BigEndian(payload[17..]),
            url);
        if (handshake.NodeId == 0)
        {
            throw new InvalidDataException("peer handshake names node 0, which is reserved for 'none'");
        }

        return handshake;
    }
}
