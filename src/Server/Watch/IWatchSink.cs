using KvStore.Client.Protocol.Messages;

namespace KvStore.Server.Watch;

/// <summary>
/// Where a <see cref="WatchHub"/> sends the <see cref="WatchEvents"/> frames of one client
/// connection, in the order it queues them. A client connection in production
/// (<see cref="ConnectionWatchSink"/>); an in-memory queue in tests.
/// </summary>
public interface IWatchSink
{
    /// <summary>Fires when the connection is gone; its watchers are then removed.</summary>
    CancellationToken Closed { get; }

    /// <summary>Queues a frame if there is room now; false if the queue is full or closed. Never waits.</summary>
    /// <exception cref="Client.KvStoreLimitExceededException">The frame is larger than the connection allows.</exception>
    bool TryPush(WatchEvents frame);

    /// <summary>Queues a frame, waiting for room.</summary>
    /// <exception cref="Client.KvStoreConnectionException">The connection is closed.</exception>
    /// <exception cref="Client.KvStoreLimitExceededException">The frame is larger than the connection allows.</exception>
    ValueTask PushAsync(WatchEvents frame, CancellationToken cancellationToken);
}
