namespace KvStore.Server.Watch;

/// <summary>The watches of one connection (one <see cref="IWatchSink"/>), by watch id. Guarded by the hub's lock.</summary>
internal sealed class WatchStream(IWatchSink sink)
{
    public IWatchSink Sink { get; } = sink;

    public Dictionary<long, Watcher> Watchers { get; } = [];

    /// <summary>The next id the server may choose; ids the client picks are skipped over.</summary>
    public long NextId { get; set; } = 1;

    public CancellationTokenRegistration OnClosed { get; set; }

    /// <summary>
    /// Watchers catching up from history. One task per connection serves them all: a connection
    /// whose queue filled detaches its busy watchers together, and reading the history once for
    /// all of them (not once per watcher) keeps that cheap.
    /// </summary>
    public List<Watcher> CatchingUp { get; } = [];

    /// <summary>Whether the connection's catch-up task is running (it ends when <see cref="CatchingUp"/> is empty).</summary>
    public bool CatchUpRunning { get; set; }
}
