using System.Buffers;
using Google.Protobuf;

namespace KvStore.Client.Protocol;

/// <summary>
/// Writes frames (<see cref="FrameHeader"/> + payload) into an <see cref="IBufferWriter{T}"/>
/// such as a PipeWriter: the payload is serialized directly into the writer's buffer. Flushing
/// is the caller's business, so that a batch of frames goes out in one flush.
/// </summary>
public static class FrameWriter
{
    /// <summary>Writes a frame whose payload is a protobuf message. Returns the bytes written.</summary>
    public static int Write(IBufferWriter<byte> output, FrameType type, ulong requestId, IMessage message)
    {
        int size = message.CalculateSize();
        WriteHeader(output, new FrameHeader((uint)size, type, requestId));
        message.WriteTo(output);
        return FrameHeader.Size + size;
    }

    /// <summary>Writes a frame with an arbitrary payload. Returns the bytes written.</summary>
    public static int Write(IBufferWriter<byte> output, FrameType type, ulong requestId, ReadOnlySpan<byte> payload)
    {
        WriteHeader(output, new FrameHeader((uint)payload.Length, type, requestId));
        output.Write(payload);
        return FrameHeader.Size + payload.Length;
    }

    /// <summary>Writes a frame with an arbitrary (possibly multi-segment) payload. Returns the bytes written.</summary>
    public static int Write(IBufferWriter<byte> output, FrameType type, ulong requestId, in ReadOnlySequence<byte> payload)
    {
        WriteHeader(output, new FrameHeader(checked((uint)payload.Length), type, requestId));
        foreach (var segment in payload)
        {
            output.Write(segment.Span);
        }

        return FrameHeader.Size + (int)payload.Length;
    }

    private static void WriteHeader(IBufferWriter<byte> output, FrameHeader header)
    {
        var span = output.GetSpan(FrameHeader.Size);
        header.WriteTo(span);
        output.Advance(FrameHeader.Size);
    }
}
