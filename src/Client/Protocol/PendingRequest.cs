using Google.Protobuf;

namespace KvStore.Client.Protocol;

/// <summary>A request sent on a <see cref="ProtocolConnection"/> and waiting for the frame with its id.</summary>
internal sealed class PendingRequest(FrameType requestType) : TaskCompletionSource<IMessage>(TaskCreationOptions.RunContinuationsAsynchronously)
{
    public FrameType RequestType { get; } = requestType;

    public FrameType ResponseType { get; } = MessageFrameTypes.ResponseTypeOf(requestType);
}
