namespace KvStore.Raft.Host;

/// <summary>A proposal or read reached a node that is not the group's leader. Retry at <see cref="LeaderId"/> when it is known.</summary>
public sealed class NotLeaderException : Exception
{
    public NotLeaderException(ulong group, ulong nodeId, ulong leaderId)
        : base(leaderId == 0
            ? $"node {nodeId} is not the leader of group {group} and knows no leader"
            : $"node {nodeId} is not the leader of group {group}; the leader is node {leaderId}")
    {
        Group = group;
        NodeId = nodeId;
        LeaderId = leaderId;
    }

    public ulong Group { get; }

    /// <summary>The node that refused.</summary>
    public ulong NodeId { get; }

    /// <summary>The leader as this node knows it, or 0 when unknown.</summary>
    public ulong LeaderId { get; }
}
