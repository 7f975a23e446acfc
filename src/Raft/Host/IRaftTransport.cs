using KvStore.Raft.Core;

namespace KvStore.Raft.Host;

/// <summary>
/// Carries Raft messages between nodes: one logical connection per peer, each batch holding
/// the messages of every group for that peer. Delivery is best effort (Raft retransmits):
/// a transport may drop a batch when the peer is unreachable or its queue is full, and must
/// never block the sender.
/// </summary>
public interface IRaftTransport : IDisposable
{
    /// <summary>The node this endpoint belongs to.</summary>
    ulong LocalNode { get; }

    /// <summary>Queues a batch for <paramref name="toNode"/>; returns at once. The transport owns the list afterwards.</summary>
    void Send(ulong toNode, IReadOnlyList<Message> batch);

    /// <summary>
    /// Registers the callback for batches arriving from peers. It is called on a transport
    /// thread and must not block (the host only queues the batch for its loop).
    /// </summary>
    void SetReceiver(Action<IReadOnlyList<Message>> receiver);
}
