using System.Buffers;

namespace KvStore.Client.Protocol;

/// <summary>
/// A frame parsed out of a receive buffer. <see cref="Payload"/> is a slice of that buffer, not
/// a copy: it is valid only until the reader that produced it is advanced.
/// </summary>
public readonly record struct Frame(FrameHeader Header, ReadOnlySequence<byte> Payload)
{
    public FrameType Type => Header.Type;

    public ulong RequestId => Header.RequestId;
}
