using System.Text;
using System.Threading.Channels;
using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using KvStore.Raft.Core;
using KvStore.Raft.Host;
using KvStore.Server.Mvcc;
using KvStore.Server.Protos;
using Microsoft.Extensions.Logging;

namespace KvStore.Server.Locks;

/// <summary>
/// The node's lock service. On every node it follows the applied state of each lock (fed by
/// <see cref="LockActivityFeed"/> right after each applied command) to answer the
/// <see cref="LockWaiter"/>s and <see cref="ElectionObserver"/>s served here. While the node is
/// the leader it also GRANTS: for each free lock with waiters it proposes
/// <see cref="LockGrant"/> for the oldest waiter (lowest create_revision) whose lease the
/// leader's <see cref="ILeaseLiveness"/> says is alive — asked immediately before proposing —
/// and, when the previous holder's lease expired, only once that grant's lock-delay has passed
/// (Chubby). It never changes state itself; the state machine re-validates every grant.
/// </summary>
/// <remarks>
/// One loop task does all of it, so evaluations of one lock never interleave and observations
/// are published in applied order. It wakes on a feed notification (a release hands the lock on
/// within one evaluation and one Raft round trip), on a scheduled lock-delay end, and every
/// <see cref="PollInterval"/> to notice a change of leadership and to retry locks whose waiters
/// it could not serve (a lease the leader thinks dead is deleted by its revocation, which wakes
/// the loop too; the poll is the safety net). An explicit unlock on the leader does not wait for
/// the loop at all: it carries the next waiter's grant (<see cref="HandOffGrant"/>), so the
/// hand-off is one Raft write; the loop grants only when that embedded grant was not applied.
/// </remarks>
public sealed class LockService : ILockActivityListener, IAsyncDisposable
{
    /// <summary>How often the loop checks leadership and retries unserved locks without a notification.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private static readonly TimeSpan RetryUnservedInterval = TimeSpan.FromMilliseconds(500);

    private readonly RaftHost _host;
    private readonly ulong _group;
    private readonly KvStateMachine _machine;
    private readonly ILeaseLiveness _leases;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly Channel<byte[]?> _signals = Channel.CreateUnbounded<byte[]?>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _gate = new();
    private readonly Dictionary<string, List<LockWaiter>> _waiters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<ElectionObserver>> _observers = new(StringComparer.Ordinal);
    private readonly Dictionary<long, ElectionObserver> _observersById = [];
    private readonly Dictionary<string, long> _declaredDelays = new(StringComparer.Ordinal);

    // Loop-thread state (_granting also by grant completions, under its own lock).
    private readonly HashSet<string> _unserved = new(StringComparer.Ordinal);
    private readonly HashSet<string> _granting = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _wakeAt = new(StringComparer.Ordinal);
    private long _nextObserverId;
    private Task? _loop;

    public LockService(RaftHost host, ulong group, KvStateMachine machine, ILeaseLiveness leases, TimeProvider clock, ILogger logger)
    {
        _host = host;
        _group = group;
        _machine = machine;
        _leases = leases;
        _clock = clock;
        _logger = logger;
    }

    public void Start()
    {
        _machine.LockActivity.Attach(this);
        _loop = Task.Run(() => RunAsync(_stopping.Token));
    }

    /// <summary>Now, in unix milliseconds, by the node's clock.</summary>
    public long NowUnixMs => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    public TimeProvider Clock => _clock;

    public KvStateMachine Machine => _machine;

    /// <summary>
    /// Declares, BEFORE its enqueue is proposed, the lock-delay a request for waiter key
    /// <paramref name="key"/> asks for: the service may grant as soon as the enqueue is applied,
    /// before the request has registered its <see cref="LockWaiter"/>. Dispose when the request ends.
    /// </summary>
    public IDisposable DeclareLockDelay(byte[] key, long lockDelayMs)
    {
        string id = Id(key);
        lock (_gate)
        {
            _declaredDelays[id] = lockDelayMs;
        }

        return new DelayDeclaration(this, id);
    }

    /// <summary>Registers a waiting request; the service completes it from applied state.</summary>
    public LockWaiter AddWaiter(byte[] name, byte[] key, long createRevision, long lockDelayMs)
    {
        var waiter = new LockWaiter(name, key, createRevision, lockDelayMs);
        lock (_gate)
        {
            string id = Id(name);
            if (!_waiters.TryGetValue(id, out List<LockWaiter>? list))
            {
                _waiters[id] = list = [];
            }

            list.Add(waiter);
        }

        MarkChanged(name);
        return waiter;
    }

    public void RemoveWaiter(LockWaiter waiter)
    {
        lock (_gate)
        {
            string id = Id(waiter.Name);
            if (_waiters.TryGetValue(id, out List<LockWaiter>? list) && list.Remove(waiter) && list.Count == 0)
            {
                _waiters.Remove(id);
            }
        }
    }

    /// <summary>Starts an observe stream; its first observation (the current leader) follows at once.</summary>
    public ElectionObserver AddObserver(byte[] name, Net.ClientConnection connection)
    {
        ElectionObserver observer;
        lock (_gate)
        {
            observer = new ElectionObserver(++_nextObserverId, name, connection);
            string id = Id(name);
            if (!_observers.TryGetValue(id, out List<ElectionObserver>? list))
            {
                _observers[id] = list = [];
            }

            list.Add(observer);
            _observersById[observer.Id] = observer;
        }

        connection.Closed.Register(() => RemoveObserver(observer.Id, connection));
        MarkChanged(name);
        return observer;
    }

    /// <summary>Ends observe stream <paramref name="observeId"/> of <paramref name="connection"/>; false if it has none such.</summary>
    public bool RemoveObserver(long observeId, Net.ClientConnection connection)
    {
        ElectionObserver? observer;
        lock (_gate)
        {
            if (!_observersById.TryGetValue(observeId, out observer) || !ReferenceEquals(observer.Owner, connection))
            {
                return false;
            }

            _observersById.Remove(observeId);
            string id = Id(observer.Name);
            if (_observers.TryGetValue(id, out List<ElectionObserver>? list) && list.Remove(observer) && list.Count == 0)
            {
                _observers.Remove(id);
            }
        }

        observer.Close();
        return true;
    }

    /// <summary>Asks the loop to look at lock <paramref name="name"/> again.</summary>
    public void MarkChanged(byte[] name) => _signals.Writer.TryWrite(name);

    void ILockActivityListener.LocksChanged(IReadOnlyList<byte[]> names)
    {
        foreach (byte[] name in names)
        {
            _signals.Writer.TryWrite(name);
        }
    }

    void ILockActivityListener.AllLocksChanged() => _signals.Writer.TryWrite(null);

    public async ValueTask DisposeAsync()
    {
        _machine.LockActivity.Attach(null);
        _stopping.Cancel();
        _signals.Writer.TryComplete();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    private static string Id(byte[] name) => Encoding.Latin1.GetString(name);

    private static byte[] NameOf(string id) => Encoding.Latin1.GetBytes(id);

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var dirty = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        bool all = true;
        bool wasLeader = false;
        long term = 0;
        DateTimeOffset nextRetry = _clock.GetUtcNow();
        Task<bool>? pendingRead = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                pendingRead ??= _signals.Reader.WaitToReadAsync(cancellationToken).AsTask();
                TimeSpan wait = PollInterval;
                DateTimeOffset now = _clock.GetUtcNow();
                foreach (DateTimeOffset at in _wakeAt.Values)
                {
                    wait = TimeSpan.FromTicks(Math.Clamp((at - now).Ticks, 0, wait.Ticks));
                }

                if (!pendingRead.IsCompleted && wait > TimeSpan.Zero)
                {
                    await Task.WhenAny(pendingRead, Task.Delay(wait, _clock, cancellationToken)).ConfigureAwait(false);
                }

                if (pendingRead.IsCompleted)
                {
                    if (!await pendingRead.ConfigureAwait(false))
                    {
                        return;
                    }

                    pendingRead = null;
                }

                while (_signals.Reader.TryRead(out byte[]? name))
                {
                    if (name is null)
                    {
                        all = true;
                    }
                    else
                    {
                        dirty[Id(name)] = name;
                    }
                }

                RaftGroupStatus status = _host.GetStatus(_group);
                bool isLeader = status.Role == RaftRole.Leader;
                if (isLeader && (!wasLeader || status.Term != term))
                {
                    // A new leader learns every lock from the grant records: waiters queued under
                    // the previous leader are served without their clients having to ask again.
                    all = true;
                }

                wasLeader = isLeader;
                term = status.Term;
                now = _clock.GetUtcNow();
                foreach ((string id, DateTimeOffset at) in _wakeAt.ToList())
                {
                    if (at <= now)
                    {
                        _wakeAt.Remove(id);
                        dirty[id] = NameOf(id);
                    }
                }

                if (now >= nextRetry)
                {
                    nextRetry = now + RetryUnservedInterval;
                    foreach (string id in _unserved)
                    {
                        dirty[id] = NameOf(id);
                    }

                    lock (_gate)
                    {
                        foreach (string id in _waiters.Keys)
                        {
                            dirty[id] = NameOf(id);
                        }
                    }
                }

                if (all)
                {
                    all = false;
                    foreach (byte[] name in LockTable.Names(_machine.Store))
                    {
                        dirty[Id(name)] = name;
                    }

                    lock (_gate)
                    {
                        foreach (string id in _waiters.Keys.Concat(_observers.Keys))
                        {
                            dirty[id] = NameOf(id);
                        }
                    }
                }

                foreach ((string id, byte[] name) in dirty)
                {
                    Evaluate(id, name, isLeader);
                }

                dirty.Clear();
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (Exception e) when (e is MvccException or InvalidDataException or GroupNotFoundException)
            {
                // A snapshot being installed (its end signals every lock again), or a group going away.
                _logger.LogDebug(e, "lock service: evaluation deferred");
                all = true;
                await Task.Delay(PollInterval, _clock, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private void Evaluate(string id, byte[] name, bool isLeader)
    {
        // The revision first: every waiter key created at or below it is in the reads that follow.
        long revision = _machine.Store.CurrentRevision;
        (KeyValue? holder, LockGrantRecord? record) = LockTable.ReadHolder(_machine.Store, name);
        List<KeyValue> queue = record is null ? [] : LockTable.Waiters(_machine.Store, name);
        ResolveWaiters(id, record, holder, queue, revision);
        PublishObservers(id, holder, revision);
        if (!isLeader || record is null || holder is not null)
        {
            _unserved.Remove(id);
            return;
        }

        List<KeyValue> candidates = queue.Where(w => w.CreateRevision > record.Token).ToList();
        if (candidates.Count == 0)
        {
            _unserved.Remove(id);
            return;
        }

        _unserved.Add(id);
        lock (_granting)
        {
            if (_granting.Contains(id))
            {
                return;
            }
        }

        if (record.ExpiredAtUnixMs > 0 && record.LockDelayMs > 0)
        {
            DateTimeOffset freeAt = DateTimeOffset.FromUnixTimeMilliseconds(record.ExpiredAtUnixMs + record.LockDelayMs);
            if (_clock.GetUtcNow() < freeAt)
            {
                _wakeAt[id] = freeAt;
                return;
            }
        }

        foreach (KeyValue waiter in candidates)
        {
            long lease = waiter.Lease;

            // The last look at the lease, right before the proposal: a waiter whose lease the
            // leader already knows to be dead is skipped (Jepsen, etcd 3.4.3).
            if (!_leases.IsAlive(lease))
            {
                continue;
            }

            byte[] key = waiter.Key.ToByteArray();
            var grant = new LockGrant
            {
                Name = ByteString.CopyFrom(name),
                Key = waiter.Key,
                CreateRevision = waiter.CreateRevision,
                LockDelayMs = LockDelayFor(id, key, waiter.CreateRevision) ?? record.LockDelayMs,
            };
            lock (_granting)
            {
                _granting.Add(id);
            }

            _ = ProposeGrantAsync(id, name, grant);
            return;
        }
    }

    /// <summary>
    /// The grant to embed in an explicit unlock of <paramref name="key"/> (one Raft write for the
    /// hand-off instead of unlock + grant), or null: only on the leader, only if
    /// <paramref name="key"/> holds its lock as applied here, and only for the first waiter after
    /// it, if its lease is alive (the same last look as <see cref="Evaluate"/>'s). No lock-delay
    /// applies: the holder let go. The state machine re-checks it all, so a stale answer is harmless.
    /// </summary>
    public LockGrant? HandOffGrant(ByteString key)
    {
        if (!WaiterKeys.TryGetName(key.Span, out byte[] name) || _host.GetStatus(_group).Role != RaftRole.Leader)
        {
            return null;
        }

        (KeyValue? holder, LockGrantRecord? record) = LockTable.ReadHolder(_machine.Store, name);
        if (holder is null || record is null || holder.Key != key)
        {
            return null;
        }

        KeyValue? next = LockTable.Waiters(_machine.Store, name).Find(w => w.CreateRevision > record.Token);
        if (next is null || !_leases.IsAlive(next.Lease))
        {
            return null;
        }

        string id = Id(name);
        byte[] nextKey = next.Key.ToByteArray();
        return new LockGrant
        {
            Name = ByteString.CopyFrom(name),
            Key = next.Key,
            CreateRevision = next.CreateRevision,
            LockDelayMs = LockDelayFor(id, nextKey, next.CreateRevision) ?? record.LockDelayMs,
        };
    }

    private async Task ProposeGrantAsync(string id, byte[] name, LockGrant grant)
    {
        try
        {
            var command = new KvCommand { IssuedAtUnixMs = NowUnixMs, LockGrant = grant };
            object? result = await _host.ProposeAsync(_group, command.ToByteArray(), _stopping.Token).ConfigureAwait(false);
            if (result is LockGrantResult { Granted: false } refused)
            {
                _logger.LogDebug("lock {Name}: grant to {Key} refused: {Reason}", LockTable.Describe(name), grant.Key.ToStringUtf8(), refused.Reason);
            }
        }
        catch (Exception e) when (e is NotLeaderException or ProposalDroppedException or TimeoutException or GroupNotFoundException or HostFailedException or OperationCanceledException or ObjectDisposedException)
        {
            // Leadership moved (the next leader grants) or the node stops.
        }
        finally
        {
            lock (_granting)
            {
                _granting.Remove(id);
            }

            // Back to the loop: the grant was applied (the feed signalled it too) or lost (retry now).
            _signals.Writer.TryWrite(name);
        }
    }

    private long? LockDelayFor(string id, byte[] key, long createRevision)
    {
        lock (_gate)
        {
            if (_waiters.TryGetValue(id, out List<LockWaiter>? list) &&
                list.FirstOrDefault(w => w.CreateRevision == createRevision && w.Key.AsSpan().SequenceEqual(key)) is { } waiter)
            {
                return waiter.LockDelayMs;
            }

            return _declaredDelays.TryGetValue(Id(key), out long declared) ? declared : null;
        }
    }

    private sealed class DelayDeclaration(LockService service, string key) : IDisposable
    {
        public void Dispose()
        {
            lock (service._gate)
            {
                service._declaredDelays.Remove(key);
            }
        }
    }

    private void ResolveWaiters(string id, LockGrantRecord? record, KeyValue? holder, List<KeyValue> queue, long revision)
    {
        lock (_gate)
        {
            if (!_waiters.TryGetValue(id, out List<LockWaiter>? list))
            {
                return;
            }

            foreach (LockWaiter waiter in list)
            {
                if (waiter.CreateRevision > revision)
                {
                    // Registered while this evaluation read an older state, which cannot know its
                    // key yet; the registration asked for another evaluation.
                    continue;
                }

                if (holder is not null && holder.CreateRevision == waiter.CreateRevision && holder.Key.Span.SequenceEqual(waiter.Key))
                {
                    waiter.Complete(LockWaitOutcome.Granted);
                    continue;
                }

                KeyValue? mine = queue.Find(kv => kv.Key.Span.SequenceEqual(waiter.Key));
                if (mine is null || mine.CreateRevision != waiter.CreateRevision)
                {
                    waiter.Complete(LockWaitOutcome.Gone, mine is null ? $"its key is gone at revision {revision}" : $"its key was re-created at revision {mine.CreateRevision}");
                }
                else if (record is not null && waiter.CreateRevision <= record.Token)
                {
                    waiter.Complete(LockWaitOutcome.Overtaken);
                }
            }
        }
    }

    private void PublishObservers(string id, KeyValue? holder, long revision)
    {
        ElectionObserver[] observers;
        lock (_gate)
        {
            if (!_observers.TryGetValue(id, out List<ElectionObserver>? list))
            {
                return;
            }

            observers = [.. list];
        }

        foreach (ElectionObserver observer in observers)
        {
            observer.Publish(holder, revision);
        }
    }
}
