using System.Diagnostics;
using HdrHistogram;
using KvStore.Storage.Log;

namespace KvStore.Benchmarks.LogStore;

/// <summary>
/// The write path a Raft host uses: appenders queue entries, one writer thread appends everything
/// queued, issues one Sync for the whole batch and then completes every waiter (group commit).
/// Records each append's latency from queueing to durable.
/// </summary>
internal sealed class GroupCommitWriter : IDisposable
{
    private readonly IRaftLogStore _store;
    private readonly object _gate = new();
    private readonly Thread _thread;
    private List<Request> _queue = [];
    private List<Request> _batch = [];
    private bool _stopping;
    private Exception? _failure;

    public GroupCommitWriter(IRaftLogStore store)
    {
        _store = store;
        _thread = new Thread(Loop) { IsBackground = true, Name = "group-commit writer" };
        _thread.Start();
    }

    /// <summary>Append latencies in microseconds (read after <see cref="Dispose"/> or between runs).</summary>
    public LongHistogram Latencies { get; } = new(TimeSpan.FromSeconds(60).Ticks / 10, 3);

    public long Completed { get; private set; }

    public long Syncs { get; private set; }

    public Task AppendAsync(ulong group, LogEntry entry)
    {
        var request = new Request(group, entry, Stopwatch.GetTimestamp(), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (_gate)
        {
            if (_failure is not null)
            {
                throw new InvalidOperationException("the writer failed", _failure);
            }

            _queue.Add(request);
            if (_queue.Count == 1)
            {
                Monitor.Pulse(_gate);
            }
        }

        return request.Done.Task;
    }

    /// <summary>Forgets what was measured so far (after a warm-up).</summary>
    public void ResetCounters()
    {
        lock (_gate)
        {
            Latencies.Reset();
            Completed = 0;
            Syncs = 0;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.Pulse(_gate);
        }

        _thread.Join();
    }

    private void Loop()
    {
        var one = new LogEntry[1];
        while (true)
        {
            lock (_gate)
            {
                while (_queue.Count == 0 && !_stopping)
                {
                    Monitor.Wait(_gate);
                }

                if (_queue.Count == 0)
                {
                    return;
                }

                (_queue, _batch) = (_batch, _queue);
            }

            try
            {
                foreach (Request request in _batch)
                {
                    one[0] = request.Entry;
                    _store.Append(request.Group, one);
                }

                _store.Sync();
            }
            catch (Exception e)
            {
                lock (_gate)
                {
                    _failure = e;
                }

                foreach (Request request in _batch)
                {
                    request.Done.TrySetException(e);
                }

                _batch.Clear();
                continue;
            }

            long now = Stopwatch.GetTimestamp();
            lock (_gate)
            {
                foreach (Request request in _batch)
                {
                    Latencies.RecordValue(Math.Max(1, (long)Stopwatch.GetElapsedTime(request.Queued, now).TotalMicroseconds));
                }

                Completed += _batch.Count;
                Syncs++;
            }

            foreach (Request request in _batch)
            {
                request.Done.SetResult();
            }

            _batch.Clear();
        }
    }

    private sealed record Request(ulong Group, LogEntry Entry, long Queued, TaskCompletionSource Done);
}
