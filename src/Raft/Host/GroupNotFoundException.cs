namespace KvStore.Raft.Host;

/// <summary>The host runs no replica of the named group (never added, or removed).</summary>
public sealed class GroupNotFoundException : Exception
{
    public GroupNotFoundException(ulong nodeId, ulong group)
        : base($"node {nodeId} hosts no replica of group {group}")
    {
        NodeId = nodeId;
        Group = group;
    }

    public ulong NodeId { get; }

    public ulong Group { get; }
}
