using Google.Protobuf;

namespace KvStore.Client.Protocol;

/// <summary>
/// A frame the server sent on its own (request id 0): watch events, lease keep-alive answers.
/// The payload is a private copy, valid for as long as the caller keeps it.
/// </summary>
public sealed record PushFrame(FrameType Type, ReadOnlyMemory<byte> Payload)
{
    /// <summary>Parses the payload as the message its frame type carries.</summary>
    /// <exception cref="KvStoreProtocolException">The type is unknown to this client or the payload does not parse.</exception>
    public IMessage ParseMessage()
    {
        if (!MessageFrameTypes.TryGetParser(Type, out var parser))
        {
            throw new KvStoreProtocolException(Messages.ErrorCode.UnknownType, $"push frame type {(byte)Type} is unknown to this client");
        }

        try
        {
            return parser.ParseFrom(Payload.Span);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new KvStoreProtocolException(Messages.ErrorCode.InvalidFrame, $"push frame of type {Type} ({Payload.Length} bytes) does not parse: {ex.Message}", ex);
        }
    }
}
