using System.Buffers.Binary;

namespace KvStore.Client.Protocol;

/// <summary>
/// The fixed 13-byte header in front of every frame.
/// </summary>
/// <remarks>
/// Wire format (all integers big-endian; do not change, embedded in every frame):
/// <code>
/// offset 0  u32  payload length in bytes (header not included)
/// offset 4  u8   frame type (<see cref="FrameType"/>)
/// offset 5  u64  request id (0 = unsolicited/connection-level)
/// offset 13      payload (payload length bytes; a protobuf message for client frames)
/// </code>
/// A fixed-width request id keeps the header a constant size, so a reader knows after exactly
/// 13 bytes whether the frame is acceptable, and can reject an oversized frame before buffering it.
/// </remarks>
public readonly record struct FrameHeader(uint PayloadLength, FrameType Type, ulong RequestId)
{
    /// <summary>Size of the header on the wire.</summary>
    public const int Size = 13;

    /// <summary>Writes the header into the first <see cref="Size"/> bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, PayloadLength);
        destination[4] = (byte)Type;
        BinaryPrimitives.WriteUInt64BigEndian(destination[5..], RequestId);
    }

    /// <summary>Reads a header from the first <see cref="Size"/> bytes of <paramref name="source"/>.</summary>
    public static FrameHeader ReadFrom(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt32BigEndian(source),
        (FrameType)source[4],
        BinaryPrimitives.ReadUInt64BigEndian(source[5..]));
}
