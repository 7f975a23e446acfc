namespace KvStore.Client;

/// <summary>Options of a put.</summary>
public sealed record PutOptions
{
    /// <summary>Return the key-value pair as it was before the put (<see cref="PutResult.PrevKv"/>).</summary>
    public bool PrevKv { get; init; }

    /// <summary>Lease to attach the key to; 0 means none.</summary>
    public long Lease { get; init; }

    /// <summary>
    /// Append a per-prefix, 20-digit zero-padded, strictly increasing number to the key (ZooKeeper's
    /// sequential nodes); <see cref="PutResult.Key"/> says which key was written. Numbers are never reused.
    /// </summary>
    public bool Sequential { get; init; }
}
