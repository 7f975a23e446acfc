namespace KvStore.Client;

/// <summary>What a <see cref="KvStoreClient.Watch(string, WatchOptions?, CancellationToken)"/> selects and delivers.</summary>
public sealed record WatchOptions
{
    /// <summary>Watch every key that starts with the key (ignored when <see cref="RangeEnd"/> is set).</summary>
    public bool Prefix { get; init; }

    /// <summary>Watch the keys in [key, RangeEnd); <see cref="KeyRanges.AllKeysEnd"/> for every key from key on. Null or empty: not a range.</summary>
    public ReadOnlyMemory<byte>? RangeEnd { get; init; }

    /// <summary>First revision to deliver; 0 (the default) starts after the revision current when the watch starts.</summary>
    public long StartRevision { get; init; }

    /// <summary>Each event carries the key's previous version (null when it had none).</summary>
    public bool PrevKv { get; init; }

    /// <summary>Leave out put events.</summary>
    public bool NoPut { get; init; }

    /// <summary>Leave out delete events.</summary>
    public bool NoDelete { get; init; }

    /// <summary>While idle, the server sends periodic progress batches (<see cref="WatchBatch.IsProgress"/>).</summary>
    public bool ProgressNotify { get; init; }
}
