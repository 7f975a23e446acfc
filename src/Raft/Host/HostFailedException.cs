namespace KvStore.Raft.Host;

/// <summary>
/// The host stopped because persisting Raft state failed (for example the disk is full or
/// fsync failed). Continuing could break Raft's promises, so every pending and later call fails
/// with this; restart the host to recover from what is durable.
/// </summary>
public sealed class HostFailedException : Exception
{
    public HostFailedException(ulong nodeId, Exception cause)
        : base($"Raft host of node {nodeId} stopped after a storage failure: {cause.Message}", cause)
    {
        NodeId = nodeId;
    }

    public ulong NodeId { get; }
}
