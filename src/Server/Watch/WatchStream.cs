namespace KvStore.Server.Watch;

/// <summary>The watches of one connection (one <see cref="IWatchSink"/>), by watch id. Guarded by the hub's lock.</summary>
internal sealed class WatchStream(IWatchSink sink)
{
    public IWatchSink Sink { get; } = sink;

    public Dictionary<long, Watcher> Watchers { get; } = [];

    /// <summary>The next id the server may choose; ids the client picks are skipped over.</summary>
    public long NextId { get; set; } = 1;

    public CancellationTokenRegistration OnClosed { get; set; }
}
