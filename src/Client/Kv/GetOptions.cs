namespace KvStore.Client;

/// <summary>Options of a single-key read.</summary>
public sealed record GetOptions
{
    /// <summary>
    /// Serve the read from the answering member's local state without a linearizable round
    /// through the leader: faster, but may miss the newest writes.
    /// </summary>
    public bool Serializable { get; init; }

    /// <summary>Read the key as it was at this revision; 0 means the newest.</summary>
    public long Revision { get; init; }
}
