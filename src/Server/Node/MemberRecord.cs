namespace KvStore.Server.Node;

/// <summary>What every node knows of one member of the cluster (replicated through Raft).</summary>
public sealed record MemberRecord
{
    public required ulong Id { get; init; }

    public required string Name { get; init; }

    /// <summary>HOST:PORT of its peer transport.</summary>
    public required string PeerUrl { get; init; }

    /// <summary>HOST:PORT of its client listener; empty until published.</summary>
    public string ClientUrl { get; init; } = string.Empty;

    public bool IsLearner { get; init; }
}
