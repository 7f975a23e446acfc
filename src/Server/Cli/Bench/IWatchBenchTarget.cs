namespace KvStore.Server.Cli.Bench;

/// <summary>A system under test for the watch fan-out benchmark: many watchers on a few streams, and a writer.</summary>
internal interface IWatchBenchTarget : IAsyncDisposable
{
    /// <summary>
    /// Creates one watch per entry of <paramref name="watchedKeys"/> (watcher j watches
    /// watchedKeys[j]), spread over <paramref name="streams"/> streams, and returns once every
    /// watch is in place. From then on each delivered event's value goes to
    /// <paramref name="onEvent"/> with its stream's index; a stream calls it from one thread at a time.
    /// </summary>
    Task StartWatchersAsync(IReadOnlyList<byte[]> watchedKeys, int streams, Action<int, ReadOnlyMemory<byte>> onEvent, CancellationToken cancellationToken);

    /// <summary>Writes <paramref name="value"/> at <paramref name="key"/> and waits for the acknowledgement.</summary>
    Task PutAsync(byte[] key, byte[] value, CancellationToken cancellationToken);
}
