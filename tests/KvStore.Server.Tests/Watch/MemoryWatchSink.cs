using KvStore.Client;
using KvStore.Client.Protocol.Messages;
using KvStore.Server.Watch;

namespace KvStore.Server.Tests.Watch;

/// <summary>
/// A connection's push queue in memory, with a capacity like the real one: a test that does not
/// read plays a slow client, whose queue fills and stays full.
/// </summary>
internal sealed class MemoryWatchSink(int capacity = 1024) : IWatchSink
{
    private readonly object _gate = new();
    private readonly Queue<WatchEvents> _queue = new();
    private readonly CancellationTokenSource _closed = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public CancellationToken Closed => _closed.Token;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    public bool TryPush(WatchEvents frame)
    {
        lock (_gate)
        {
            if (_closed.IsCancellationRequested || _queue.Count >= capacity)
            {
                return false;
            }

            _queue.Enqueue(frame.Clone());
            SignalLocked();
            return true;
        }
    }

    public async ValueTask PushAsync(WatchEvents frame, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_closed.IsCancellationRequested)
                {
                    throw new KvStoreConnectionException("memory sink closed");
                }

                if (_queue.Count < capacity)
                {
                    _queue.Enqueue(frame.Clone());
                    SignalLocked();
                    return;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(cancellationToken);
        }
    }

    /// <summary>The next frame; fails the test if none comes within 10 s (something is stuck).</summary>
    public async Task<WatchEvents> ReadAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_queue.TryDequeue(out WatchEvents? frame))
                {
                    SignalLocked();
                    return frame;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(timeout.Token);
        }
    }

    /// <summary>Reads frames until one satisfies <paramref name="last"/>; returns them all.</summary>
    public async Task<List<WatchEvents>> ReadUntilAsync(Func<WatchEvents, bool> last)
    {
        var frames = new List<WatchEvents>();
        while (true)
        {
            WatchEvents frame = await ReadAsync();
            frames.Add(frame);
            if (last(frame))
            {
                return frames;
            }
        }
    }

    public void Close()
    {
        lock (_gate)
        {
            _closed.Cancel();
            SignalLocked();
        }
    }

    private void SignalLocked()
    {
        TaskCompletionSource previous = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        previous.TrySetResult();
    }
}
