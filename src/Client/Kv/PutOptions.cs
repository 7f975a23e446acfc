namespace KvStore.Client;

/// <summary>Options of a put.</summary>
public sealed record PutOptions
{
    /// <summary>Return the key-value pair as it was before the put (<see cref="PutResult.PrevKv"/>).</summary>
    public bool PrevKv { get; init; }

    /// <summary>Lease to attach the key to; 0 means none.</summary>
    public long Lease { get; init; }
}
