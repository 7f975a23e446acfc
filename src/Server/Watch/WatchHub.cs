using Google.Protobuf;
using KvStore.Client;
using KvStore.Client.Protocol.Messages;
using KvStore.Server.Mvcc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvStore.Server.Watch;

/// <summary>
/// Serves etcd-style watches from one node's applied state: live events as commands are applied,
/// history from the event index for watches that start in the past or fell behind.
/// </summary>
/// <remarks>
/// <para><b>Feeding.</b> The state machine calls <see cref="NotifyApplied"/> on its applying
/// thread after each applied batch. That only wakes the dispatcher task — the apply loop never
/// waits for a watcher. The dispatcher reads the new revisions back from the event index
/// (<see cref="MvccStore.ReadEvents"/>), which holds only revisions this node has applied and
/// published, so no event of an unapplied revision is ever sent.</para>
/// <para><b>Live and catching-up watchers</b> (see <see cref="Watcher"/>). The dispatcher fans a
/// revision out to the synced watchers under <c>_gate</c> and then advances
/// <c>_dispatched</c>, still under it. It queues with <see cref="IWatchSink.TryPush"/>, which never
/// waits: a watcher whose connection queue is full is detached at that revision and catches up
/// from history on its connection's catch-up task (one per connection, one history read per
/// chunk of <see cref="WatchHubOptions.MaxRevisionsPerRead"/> revisions for all its detached
/// watchers), awaiting room in the queue. It rejoins under <c>_gate</c> only when its next
/// revision is past <c>_dispatched</c>: revisions up to <c>_dispatched</c> it read itself, later
/// ones the dispatcher gives it — no gap, no repeat. One connection's frames share one FIFO
/// queue, so a watcher's frames leave in the order they were queued.</para>
/// <para><b>Atomic revisions.</b> All events of one revision that a watcher selects go in one
/// frame. A frame larger than the connection's frame limit cancels the watch with a reason
/// (revisions are never split).</para>
/// <para><b>Progress.</b> A notification carries R = <c>_dispatched</c> (applied here) and goes only
/// to synced watchers, which have queued every event up to R; one asked for while catching up
/// is sent when the watcher rejoins.</para>
/// <para><b>Compaction.</b> A start below the compacted revision is refused in the create answer;
/// a catching-up watcher whose next revision was compacted under it gets a canceled frame with
/// the compacted revision.</para>
/// </remarks>
public sealed class WatchHub : IAsyncDisposable
{
    private readonly MvccStore _store;
    private readonly WatchHubOptions _options;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly SemaphoreSlim _historyReads;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _dispatcher;
    private readonly Task _progressTimer;

    // Guarded by _gate.
    private readonly Dictionary<ByteString, List<Watcher>> _syncedByKey = [];
    private readonly List<Watcher> _syncedRanges = [];
    private readonly Dictionary<IWatchSink, WatchStream> _streams = [];
    private long _dispatched;
    private int _syncedWithPrevKv;

    private int _wakePending;
    private int _disposed;

    public WatchHub(MvccStore store, WatchHubOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        options ??= new WatchHubOptions();
        options.Validate();
        _store = store;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _historyReads = new SemaphoreSlim(options.MaxConcurrentHistoryReads, options.MaxConcurrentHistoryReads);
        _dispatched = store.CurrentRevision;
        _dispatcher = Task.Run(() => DispatchLoopAsync(_stopping.Token));
        _progressTimer = Task.Run(() => ProgressLoopAsync(_stopping.Token));
    }

    /// <summary>The newest revision every synced watcher has been given: the progress bookmark.</summary>
    public long DispatchedRevision
    {
        get
        {
            lock (_gate)
            {
                return _dispatched;
            }
        }
    }

    /// <summary>Watches currently registered (synced and catching up).</summary>
    public int WatcherCount
    {
        get
        {
            lock (_gate)
            {
                return _streams.Values.Sum(s => s.Watchers.Count);
            }
        }
    }

    /// <summary>
    /// Wakes the dispatcher: the store has applied more. Called on the applying thread after each
    /// batch (and after a snapshot restore); costs one interlocked exchange, never blocks.
    /// </summary>
    public void NotifyApplied()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            _wake.Release();
        }
    }

    /// <summary>Registers a watch of <paramref name="sink"/>'s connection and answers the create request.</summary>
    /// <exception cref="MvccException">INVALID_ARGUMENT: empty key, negative or duplicate watch id.</exception>
    public WatchCreateResponse Create(IWatchSink sink, WatchCreateRequest request)
    {
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(request);
        KeyRange range = KeyRange.From(request.Key, request.RangeEnd, "watch");
        if (request.WatchId < 0)
        {
            throw new MvccException(ErrorCode.InvalidArgument, $"watch id {request.WatchId} is negative");
        }

        if (request.StartRevision < 0)
        {
            throw new MvccException(ErrorCode.InvalidArgument, $"watch start revision {request.StartRevision} is negative");
        }

        bool noPut = request.Filters.Contains(WatchCreateRequest.Types.FilterType.Noput);
        bool noDelete = request.Filters.Contains(WatchCreateRequest.Types.FilterType.Nodelete);
        Watcher watcher;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            if (sink.Closed.IsCancellationRequested)
            {
                throw new KvStoreConnectionException("the connection closed before its watch started");
            }

            WatchStream stream = StreamOf(sink);
            long id = request.WatchId;
            if (id == 0)
            {
                while (stream.Watchers.ContainsKey(stream.NextId))
                {
                    stream.NextId++;
                }

                id = stream.NextId++;
            }
            else if (stream.Watchers.ContainsKey(id))
            {
                throw new MvccException(ErrorCode.InvalidArgument, $"watch id {id} is already in use on this connection");
            }

            MvccState state = _store.State;
            long start = request.StartRevision > 0 ? request.StartRevision : state.Revision + 1;
            var header = Header(state.Revision);
            if (start < state.CompactedRevision)
            {
                return new WatchCreateResponse
                {
                    Header = header,
                    WatchId = id,
                    Canceled = true,
                    CompactRevision = state.CompactedRevision,
                    CancelReason = $"start revision {start} has been compacted; the compacted revision is {state.CompactedRevision}",
                };
            }

            watcher = new Watcher(id, stream, range, noPut, noDelete, request.PrevKv, request.ProgressNotify, start);
            stream.Watchers.Add(id, watcher);
            if (start > _dispatched)
            {
                JoinLocked(watcher);
            }
            else
            {
                StartCatchUp(watcher);
            }

            return new WatchCreateResponse { Header = header, WatchId = id };
        }
    }

    /// <summary>
    /// Cancels watch <paramref name="watchId"/> of the connection. The live dispatcher queues
    /// nothing for it afterwards; a history frame its connection's catch-up task was already
    /// queueing may still follow (clients drop frames of watches they have canceled).
    /// </summary>
    /// <exception cref="MvccException">INVALID_ARGUMENT: no such watch on this connection.</exception>
    public WatchCancelResponse Cancel(IWatchSink sink, long watchId)
    {
        ArgumentNullException.ThrowIfNull(sink);
        Watcher? watcher;
        lock (_gate)
        {
            if (!_streams.TryGetValue(sink, out WatchStream? stream) || !stream.Watchers.TryGetValue(watchId, out watcher))
            {
                throw new MvccException(ErrorCode.InvalidArgument, $"no watch {watchId} on this connection");
            }

            RemoveLocked(watcher);
        }

        return new WatchCancelResponse { Header = Header(_store.CurrentRevision), WatchId = watchId };
    }

    /// <summary>Sends a progress notification to every watch of the connection (a catching-up one when it rejoins).</summary>
    public WatchProgressResponse RequestProgress(IWatchSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        lock (_gate)
        {
            if (_streams.TryGetValue(sink, out WatchStream? stream))
            {
                foreach (Watcher w in stream.Watchers.Values.ToArray())
                {
                    if (w.Synced)
                    {
                        SendProgressLocked(w);
                    }
                    else
                    {
                        w.ProgressPending = true;
                    }
                }
            }

            return new WatchProgressResponse { Header = Header(_dispatched) };
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_dispatcher, _progressTimer).ConfigureAwait(false);
        lock (_gate)
        {
            foreach (WatchStream stream in _streams.Values.ToArray())
            {
                RemoveStreamLocked(stream);
            }
        }
    }

    private WatchStream StreamOf(IWatchSink sink)
    {
        if (!_streams.TryGetValue(sink, out WatchStream? stream))
        {
            stream = new WatchStream(sink);
            _streams.Add(sink, stream);
            stream.OnClosed = sink.Closed.Register(() => RemoveStream(sink));
        }

        return stream;
    }

    private void RemoveStream(IWatchSink sink)
    {
        lock (_gate)
        {
            if (_streams.TryGetValue(sink, out WatchStream? stream))
            {
                RemoveStreamLocked(stream);
            }
        }
    }

    private void RemoveStreamLocked(WatchStream stream)
    {
        foreach (Watcher w in stream.Watchers.Values.ToArray())
        {
            RemoveLocked(w);
        }

        _streams.Remove(stream.Sink);
        // Unregister, not Dispose: Dispose waits for a running callback, which may be waiting for _gate.
        stream.OnClosed.Unregister();
    }

    private void RemoveLocked(Watcher w)
    {
        if (w.Removed)
        {
            return;
        }

        if (w.Synced)
        {
            LeaveIndexLocked(w);
        }

        w.Removed = true;
        w.Stream.Watchers.Remove(w.Id);
        w.Stream.CatchingUp.Remove(w);
    }

    private void JoinLocked(Watcher w)
    {
        w.Synced = true;
        if (w.SingleKey is { } key)
        {
            if (!_syncedByKey.TryGetValue(key, out List<Watcher>? list))
            {
                list = [];
                _syncedByKey.Add(key, list);
            }

            list.Add(w);
        }
        else
        {
            _syncedRanges.Add(w);
        }

        if (w.PrevKv)
        {
            _syncedWithPrevKv++;
        }

        if (w.ProgressPending)
        {
            w.ProgressPending = false;
            SendProgressLocked(w);
        }
    }

    private void LeaveIndexLocked(Watcher w)
    {
        w.Synced = false;
        if (w.SingleKey is { } key)
        {
            List<Watcher> list = _syncedByKey[key];
            list.Remove(w);
            if (list.Count == 0)
            {
                _syncedByKey.Remove(key);
            }
        }
        else
        {
            _syncedRanges.Remove(w);
        }

        if (w.PrevKv)
        {
            _syncedWithPrevKv--;
        }
    }

    /// <summary>Takes a synced watcher out of the live index: it resumes from <paramref name="next"/> on its own task.</summary>
    private void DetachLocked(Watcher w, long next)
    {
        LeaveIndexLocked(w);
        w.Next = Math.Max(w.Next, next);
        StartCatchUp(w);
    }

    private void StartCatchUp(Watcher w)
    {
        WatchStream stream = w.Stream;
        stream.CatchingUp.Add(w);
        if (!stream.CatchUpRunning)
        {
            stream.CatchUpRunning = true;
            _ = Task.Run(() => CatchUpAsync(stream));
        }
    }

    private void SendProgressLocked(Watcher w)
    {
        if (_dispatched < w.Next - 1)
        {
            // This node is behind the watcher (a stream resumed here at the revision after the last one
            // the client got elsewhere, on a node that is still replaying its log): a bookmark at
            // _dispatched would be below revisions the client already has. It stays owed until this
            // node has applied up to w.Next - 1 (etcd's progressIfSync makes the same check).
            w.ProgressPending = true;
            return;
        }

        w.ProgressPending = false;
        var frame = new WatchEvents { Header = Header(_dispatched), WatchId = w.Id, ProgressNotify = true };
        if (w.Stream.Sink.TryPush(frame))
        {
            w.SentSinceTick = true;
        }
        else
        {
            // Full queue: the notification is owed, and comes when the watcher has caught up again.
            w.ProgressPending = true;
            DetachLocked(w, _dispatched + 1);
        }
    }

    /// <summary>Cancels a watch from the server side and tells the client why (after its earlier frames).</summary>
    private void CancelFromServerLocked(Watcher w, long compactRevision, string reason)
    {
        RemoveLocked(w);
        var frame = new WatchEvents { Header = Header(_dispatched), WatchId = w.Id, Canceled = true, CompactRevision = compactRevision, CancelReason = reason };
        _ = PushCancelAsync(w, frame);
    }

    private async Task PushCancelAsync(Watcher w, WatchEvents frame)
    {
        try
        {
            await Task.Yield();
            await w.Stream.Sink.PushAsync(frame, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is KvStoreException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection is gone: nobody to tell.
        }
    }

    private async Task DispatchLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(cancellationToken).ConfigureAwait(false);
                Interlocked.Exchange(ref _wakePending, 0);
                while (!DispatchAvailable())
                {
                    // The store is being replaced by a snapshot: read again once it is done.
                    await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (Exception ex)
            {
                // A storage failure: the node is going down (the host fails on the same error). Try
                // again on the next wake-up rather than leave watchers silently stuck.
                _logger.LogError(ex, "watch dispatcher failed reading the event index at revision {Revision}", Volatile.Read(ref _dispatched) + 1);
                await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
                NotifyApplied();
            }
        }
    }

    /// <summary>Dispatches every applied revision past <c>_dispatched</c>; false if the store is being restored.</summary>
    private bool DispatchAvailable()
    {
        while (true)
        {
            long applied = _store.CurrentRevision;
            long from;
            bool withPrevKv;
            lock (_gate)
            {
                from = _dispatched + 1;
                withPrevKv = _syncedWithPrevKv > 0;
            }

            if (from > applied)
            {
                return true;
            }

            long to = Math.Min(applied, from + _options.MaxRevisionsPerRead - 1);
            IReadOnlyList<MvccEvent> events;
            try
            {
                events = _store.ReadEvents(from, to, withPrevKv);
            }
            catch (MvccException ex) when (ex.Code == ErrorCode.Compacted)
            {
                SkipCompacted();
                continue;
            }
            catch (MvccException ex) when (ex.Code == ErrorCode.Unavailable)
            {
                return false;
            }

            lock (_gate)
            {
                FanOutLocked(events, withPrevKv);
                _dispatched = to;
            }
        }
    }

    /// <summary>
    /// The dispatcher fell below the compacted revision (a snapshot from the leader jumped this node
    /// past a compaction): synced watchers still owed those revisions can never get them.
    /// </summary>
    private void SkipCompacted()
    {
        lock (_gate)
        {
            long compacted = _store.CompactedRevision;
            foreach (Watcher w in _syncedByKey.Values.SelectMany(l => l).Concat(_syncedRanges).ToArray())
            {
                if (Math.Max(w.Next, _dispatched + 1) < compacted)
                {
                    CancelFromServerLocked(w, compacted, $"revisions from {_dispatched + 1} were compacted (compacted revision {compacted}) before this node could deliver them");
                }
            }

            _dispatched = Math.Max(_dispatched, compacted - 1);
        }
    }

    private void FanOutLocked(IReadOnlyList<MvccEvent> events, bool haveAllPrevKvs)
    {
        var frames = new Dictionary<Watcher, WatchEvents>();
        var messages = new EventMessages();
        int i = 0;
        while (i < events.Count)
        {
            long revision = events[i].Revision;
            int end = i;
            while (end < events.Count && events[end].Revision == revision)
            {
                end++;
            }

            frames.Clear();
            for (int k = i; k < end; k++)
            {
                MvccEvent e = events[k];
                if (_syncedByKey.TryGetValue(e.Kv.Key, out List<Watcher>? exact))
                {
                    foreach (Watcher w in exact)
                    {
                        Collect(frames, w, e, messages, revision);
                    }
                }

                foreach (Watcher w in _syncedRanges)
                {
                    Collect(frames, w, e, messages, revision);
                }
            }

            foreach ((Watcher w, WatchEvents frame) in frames)
            {
                if (w.PrevKv && !haveAllPrevKvs)
                {
                    // It joined after this chunk was read without previous versions: history has them.
                    DetachLocked(w, revision);
                    continue;
                }

                Deliver(w, frame, revision);
            }

            i = end;
        }
    }

    private void Collect(Dictionary<Watcher, WatchEvents> frames, Watcher w, MvccEvent e, EventMessages messages, long revision)
    {
        if (revision < w.Next || !w.Selects(e))
        {
            return;
        }

        if (!frames.TryGetValue(w, out WatchEvents? frame))
        {
            frame = new WatchEvents { Header = Header(revision), WatchId = w.Id };
            frames.Add(w, frame);
        }

        frame.Events.Add(messages.Get(e, w.PrevKv));
    }

    private void Deliver(Watcher w, WatchEvents frame, long revision)
    {
        bool queued;
        try
        {
            queued = w.Stream.Sink.TryPush(frame);
        }
        catch (KvStoreLimitExceededException ex)
        {
            CancelFromServerLocked(w, 0, $"revision {revision} does not fit in one frame: {ex.Message}");
            return;
        }

        if (queued)
        {
            w.Next = revision + 1;
            w.SentSinceTick = true;
        }
        else
        {
            DetachLocked(w, revision);
        }
    }

    /// <summary>
    /// Serves a connection's catching-up watchers: reads each chunk of history once, from the
    /// oldest revision any of them still needs, queues every watcher's events in revision order
    /// (waiting for room in the connection's queue), and puts a watcher back in the live index
    /// once it has passed the dispatched revision. Ends when none is left.
    /// </summary>
    private async Task CatchUpAsync(WatchStream stream)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(stream.Sink.Closed, _stopping.Token);
        try
        {
            while (true)
            {
                Watcher[] batch;
                long target;
                lock (_gate)
                {
                    target = _dispatched;
                    foreach (Watcher w in stream.CatchingUp.ToArray())
                    {
                        if (w.Next > target)
                        {
                            stream.CatchingUp.Remove(w);
                            JoinLocked(w);
                        }
                    }

                    if (stream.CatchingUp.Count == 0 || stop.IsCancellationRequested)
                    {
                        stream.CatchUpRunning = false;
                        return;
                    }

                    batch = stream.CatchingUp.ToArray();
                }

                long from = batch.Min(w => w.Next);
                long to = Math.Min(target, from + _options.MaxRevisionsPerRead - 1);
                IReadOnlyList<MvccEvent>? events = await ReadHistoryAsync(batch, from, to, stop.Token).ConfigureAwait(false);
                if (events is null)
                {
                    continue;
                }

                await PushHistoryAsync(batch, events, stop.Token).ConfigureAwait(false);
                foreach (Watcher w in batch)
                {
                    w.Next = Math.Max(w.Next, to + 1);
                }
            }
        }
        catch (Exception ex)
        {
            if (ex is not (OperationCanceledException or KvStoreConnectionException or ObjectDisposedException))
            {
                _logger.LogError(ex, "watch catch-up failed; its watchers are canceled");
            }

            lock (_gate)
            {
                stream.CatchUpRunning = false;
                foreach (Watcher w in stream.CatchingUp.ToArray())
                {
                    if (ex is OperationCanceledException or KvStoreConnectionException or ObjectDisposedException)
                    {
                        RemoveLocked(w);
                    }
                    else
                    {
                        CancelFromServerLocked(w, 0, $"the server failed reading history from revision {w.Next}: {ex.Message}");
                    }
                }
            }
        }
    }

    /// <summary>History [from, to]; null when some watchers were canceled because it was compacted (the rest go on).</summary>
    private async Task<IReadOnlyList<MvccEvent>?> ReadHistoryAsync(Watcher[] batch, long from, long to, CancellationToken stop)
    {
        bool withPrevKv = batch.Any(w => w.PrevKv);
        while (true)
        {
            await _historyReads.WaitAsync(stop).ConfigureAwait(false);
            try
            {
                return _store.ReadEvents(from, to, withPrevKv);
            }
            catch (MvccException ex) when (ex.Code == ErrorCode.Compacted)
            {
                lock (_gate)
                {
                    long compacted = _store.CompactedRevision;
                    foreach (Watcher w in batch.Where(w => w.Next < compacted && !w.Removed))
                    {
                        CancelFromServerLocked(w, compacted, $"revision {w.Next} has been compacted; the compacted revision is {compacted}");
                    }
                }

                return null;
            }
            catch (MvccException ex) when (ex.Code == ErrorCode.Unavailable)
            {
                // A snapshot is being installed; its contents hold the history from its compacted revision.
            }
            finally
            {
                _historyReads.Release();
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), stop).ConfigureAwait(false);
        }
    }

    private async Task PushHistoryAsync(Watcher[] batch, IReadOnlyList<MvccEvent> events, CancellationToken stop)
    {
        var byKey = new Dictionary<ByteString, List<Watcher>>();
        var ranges = new List<Watcher>();
        foreach (Watcher w in batch)
        {
            if (w.SingleKey is { } key)
            {
                if (!byKey.TryGetValue(key, out List<Watcher>? list))
                {
                    list = [];
                    byKey.Add(key, list);
                }

                list.Add(w);
            }
            else
            {
                ranges.Add(w);
            }
        }

        var messages = new EventMessages();
        var frames = new Dictionary<Watcher, WatchEvents>();
        int i = 0;
        while (i < events.Count)
        {
            long revision = events[i].Revision;
            int end = i;
            while (end < events.Count && events[end].Revision == revision)
            {
                end++;
            }

            frames.Clear();
            for (int k = i; k < end; k++)
            {
                MvccEvent e = events[k];
                if (byKey.TryGetValue(e.Kv.Key, out List<Watcher>? exact))
                {
                    foreach (Watcher w in exact)
                    {
                        Collect(frames, w, e, messages, revision);
                    }
                }

                foreach (Watcher w in ranges)
                {
                    Collect(frames, w, e, messages, revision);
                }
            }

            foreach ((Watcher w, WatchEvents frame) in frames)
            {
                if (w.Removed)
                {
                    continue;
                }

                try
                {
                    await w.Stream.Sink.PushAsync(frame, stop).ConfigureAwait(false);
                    w.SentSinceTick = true;
                }
                catch (KvStoreLimitExceededException ex)
                {
                    lock (_gate)
                    {
                        CancelFromServerLocked(w, 0, $"revision {revision} does not fit in one frame: {ex.Message}");
                    }
                }
            }

            i = end;
        }
    }

    private async Task ProgressLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.ProgressInterval, _options.Clock, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            lock (_gate)
            {
                foreach (Watcher w in _streams.Values.SelectMany(s => s.Watchers.Values).Where(w => w.ProgressNotify || w.ProgressPending).ToArray())
                {
                    if (w.Synced && (w.ProgressPending || !w.SentSinceTick))
                    {
                        SendProgressLocked(w);
                    }

                    w.SentSinceTick = false;
                }
            }
        }
    }

    private ResponseHeader Header(long revision) => new()
    {
        ClusterId = _options.ClusterId,
        MemberId = _options.MemberId,
        GroupId = _options.GroupId,
        Revision = revision,
    };

    /// <summary>The wire form of each event, built once per chunk and shared by every frame that carries it.</summary>
    private sealed class EventMessages
    {
        private readonly Dictionary<MvccEvent, (Event? Plain, Event? WithPrev)> _built = new(ReferenceEqualityComparer.Instance);

        public Event Get(MvccEvent e, bool withPrevKv)
        {
            _built.TryGetValue(e, out (Event? Plain, Event? WithPrev) built);
            if (withPrevKv)
            {
                if (built.WithPrev is null)
                {
                    built.WithPrev = Build(e, e.PrevKv);
                    _built[e] = built;
                }

                return built.WithPrev;
            }

            if (built.Plain is null)
            {
                built.Plain = Build(e, null);
                _built[e] = built;
            }

            return built.Plain;
        }

        private static Event Build(MvccEvent e, KeyValue? prev)
        {
            var message = new Event { Type = e.Type == MvccEventType.Put ? Event.Types.EventType.Put : Event.Types.EventType.Delete, Kv = e.Kv };
            if (prev is not null)
            {
                message.PrevKv = prev;
            }

            return message;
        }
    }
}
