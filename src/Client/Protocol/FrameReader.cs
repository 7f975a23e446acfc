using System.Buffers;

namespace KvStore.Client.Protocol;

/// <summary>
/// Parses frames (<see cref="FrameHeader"/> + payload) straight out of a receive buffer, the way
/// Kestrel parses HTTP/2 frames: no copy of the payload, the caller advances its PipeReader to
/// <c>buffer.Start</c> (consumed) and <c>buffer.End</c> (examined) after the loop.
/// </summary>
/// <remarks>
/// The reader knows nothing of frame types or protobuf, so the peer transport can use it for
/// any payload. It enforces only the payload size limit, as soon as the 13 header bytes are in,
/// so an oversized frame is rejected before its payload is buffered.
/// </remarks>
public static class FrameReader
{
    /// <summary>
    /// Tries to read one frame from the front of <paramref name="buffer"/>. On
    /// <see cref="FrameReadStatus.Complete"/>, <paramref name="buffer"/> is sliced past the frame.
    /// </summary>
    public static FrameReadStatus TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxPayloadBytes, out Frame frame)
    {
        if (buffer.Length < FrameHeader.Size)
        {
            frame = default;
            return FrameReadStatus.Incomplete;
        }

        var header = ReadHeader(buffer);
        if (header.PayloadLength > (uint)maxPayloadBytes)
        {
            frame = new Frame(header, ReadOnlySequence<byte>.Empty);
            return FrameReadStatus.TooLarge;
        }

        long frameLength = FrameHeader.Size + (long)header.PayloadLength;
        if (buffer.Length < frameLength)
        {
            frame = default;
            return FrameReadStatus.Incomplete;
        }

        frame = new Frame(header, buffer.Slice(FrameHeader.Size, header.PayloadLength));
        buffer = buffer.Slice(frameLength);
        return FrameReadStatus.Complete;
    }

    /// <summary>
    /// Reads the header at the front of <paramref name="buffer"/>, which must hold at least
    /// <see cref="FrameHeader.Size"/> bytes.
    /// </summary>
    public static FrameHeader ReadHeader(in ReadOnlySequence<byte> buffer)
    {
        if (buffer.FirstSpan.Length >= FrameHeader.Size)
        {
            return FrameHeader.ReadFrom(buffer.FirstSpan);
        }

        // The header straddles segments: copy just these 13 bytes.
        Span<byte> header = stackalloc byte[FrameHeader.Size];
        buffer.Slice(0, FrameHeader.Size).CopyTo(header);
        return FrameHeader.ReadFrom(header);
    }
}
