namespace KvStore.Client;

/// <summary>Options of a delete.</summary>
public sealed record DeleteOptions
{
    /// <summary>Delete every key that starts with the given key.</summary>
    public bool Prefix { get; init; }

    /// <summary>Delete the keys in [key, RangeEnd) instead of one key (ignored with <see cref="Prefix"/>).</summary>
    public ReadOnlyMemory<byte> RangeEnd { get; init; }

    /// <summary>Return the deleted pairs (<see cref="DeleteResult.PrevKvs"/>).</summary>
    public bool PrevKv { get; init; }
}
