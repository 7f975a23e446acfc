using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;
using KvStore.Server.Net;

namespace KvStore.Server.Watch;

/// <summary>A client connection's push queue as a <see cref="IWatchSink"/>: frames go out as <see cref="FrameType.WatchEvents"/> with request id 0.</summary>
public sealed class ConnectionWatchSink(ClientConnection connection) : IWatchSink
{
    public CancellationToken Closed => connection.Closed;

    public bool TryPush(WatchEvents frame) => connection.TrySendPush(FrameType.WatchEvents, frame);

    public ValueTask PushAsync(WatchEvents frame, CancellationToken cancellationToken) =>
        connection.SendPushAsync(FrameType.WatchEvents, frame, cancellationToken);
}
