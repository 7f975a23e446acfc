using KvStore.Client.Protocol.Messages;
using KvStore.Server.Mvcc;
using KvStore.Server.Protos;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvStore.Server.Leases;

/// <summary>
/// The leader's side of leases: deadlines in memory, renewals (KeepAlive) answered from them,
/// expiry proposed as batched <see cref="LeaseExpireCommand"/>s (each lease's keys go in one
/// revision), and remaining TTLs checkpointed through Raft. Active only
/// while this node leads the group; it never changes state except by proposing commands.
/// </summary>
/// <remarks>
/// <para>Time is <see cref="LeaseServiceOptions.Clock"/>'s monotonic timestamp, never a wall
/// clock: deadlines are local to this leader and die with its term.</para>
/// <para>Taking over (a new term as leader): the service first proposes an empty checkpoint and
/// waits for it, so every command of earlier terms is applied; then it gives each live lease its
/// recorded remaining TTL plus one election timeout, and records at once that remaining minus one
/// election timeout — an election cannot take less, so each leader change uses up TTL however
/// short the leaders live (etcd issue 9395: without it, leaders that keep failing over keep an
/// abandoned lease alive forever).</para>
/// <para>Checkpoints (every <see cref="LeaseServiceOptions.CheckpointInterval"/>) rewrite only
/// leases whose record is off: a lease nobody renewed for half its TTL is recorded when its
/// record exceeds the truth by more than the interval (so a later leader grants an abandoned
/// lease at most the interval more than it had, plus the election timeout), and a renewed lease
/// whose record fell below the truth by more than the interval (after a takeover charge) is
/// raised to it in the next round, batched. A record charged down to 0 gets no grace on the next
/// takeover: the lease then ends within TTL / election timeout leader changes, however short the
/// leaders live. A lease renewed every third of its TTL, as the SDK does, is never rewritten: 100,000
/// kept-alive leases cost no Raft traffic.</para>
/// </remarks>
public sealed class LeaseService : IAsyncDisposable
{
    private readonly KvStateMachine _machine;
    private readonly ILeaseProposer _proposer;
    private readonly LeaseServiceOptions _options;
    private readonly ILogger _logger;
    private readonly long _electionMs;
    private readonly long _intervalMs;
    private readonly long _origin;
    private readonly CancellationTokenSource _stopping = new();

    // Guarded by _lock: the apply thread (LeaseChanged), request threads (KeepAlive) and the loop share them.
    private readonly object _lock = new();
    private readonly Dictionary<long, LeaseTimer> _leases = [];
    private readonly PriorityQueue<long, long> _deadlines = new();

    // Renewed leases whose record is more than the interval below their new deadline: raised in the next round, in one batch.
    private readonly HashSet<long> _raiseSoon = [];
    private Phase _phase;
    private long _term;
    private long _nextCheckpointMs;
    private int _revocationsInFlight;

    private Task _checkpointing = Task.CompletedTask;
    private Task _forgetting = Task.CompletedTask;
    private long _nextForgetMs;
    private Task? _loop;

    public LeaseService(KvStateMachine machine, ILeaseProposer proposer, LeaseServiceOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(proposer);
        options ??= new LeaseServiceOptions();
        options.Validate();
        _machine = machine;
        _proposer = proposer;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _electionMs = (long)options.ElectionTimeout.TotalMilliseconds;
        _intervalMs = (long)options.CheckpointInterval.TotalMilliseconds;
        _origin = options.Clock.GetTimestamp();
        machine.LeaseChanged += OnLeaseChanged;
    }

    private enum Phase
    {
        Inactive,
        Loading,
        Active,
    }

    /// <summary>Whether this node leads and has loaded the leases: only then are renewals and TTLs answered.</summary>
    public bool IsActive
    {
        get
        {
            lock (_lock)
            {
                return _phase == Phase.Active;
            }
        }
    }

    /// <summary>Runs the service until disposed.</summary>
    public void Start() => _loop ??= Task.Run(() => RunAsync(_stopping.Token));

    /// <summary>
    /// Renews leases: each live one gets its granted TTL again from now (result ttl = granted TTL);
    /// a lease that is gone or being expired gets 0. Null when the service is not active.
    /// </summary>
    public IReadOnlyList<LeaseKeepAliveResult>? KeepAlive(IReadOnlyList<long> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        lock (_lock)
        {
            if (_phase != Phase.Active)
            {
                return null;
            }

            long now = NowMs();
            var results = new List<LeaseKeepAliveResult>(ids.Count);
            foreach (long id in ids)
            {
                if (_leases.TryGetValue(id, out LeaseTimer? timer) && !timer.Revoking)
                {
                    timer.Deadline = now + timer.GrantedMs;
                    timer.LastRenewal = now;
                    timer.Renewed = true;
                    _deadlines.Enqueue(id, timer.Deadline);
                    if (timer.GrantedMs - timer.Recorded > _intervalMs)
                    {
                        _raiseSoon.Add(id);
                    }

                    results.Add(new LeaseKeepAliveResult { Id = id, TtlSeconds = timer.GrantedMs / 1000 });
                }
                else
                {
                    results.Add(new LeaseKeepAliveResult { Id = id, TtlSeconds = 0 });
                }
            }

            return results;
        }
    }

    /// <summary>The remaining TTL of lease <paramref name="id"/> on this leader (ms); -1 if it is gone; null when the service is not active.</summary>
    public long? RemainingMs(long id)
    {
        lock (_lock)
        {
            if (_phase != Phase.Active)
            {
                return null;
            }

            return _leases.TryGetValue(id, out LeaseTimer? timer) && !timer.Revoking ? Math.Max(0, timer.Deadline - NowMs()) : -1;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _machine.LeaseChanged -= OnLeaseChanged;
        _stopping.Cancel();
        if (_loop != null)
        {
            await _loop.ConfigureAwait(false);
        }

        await _checkpointing.ConfigureAwait(false);
        await _forgetting.ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>One round: follow leadership, take over, expire what is due, checkpoint when due. The loop calls it every poll interval.</summary>
    internal async Task StepAsync(CancellationToken cancellationToken)
    {
        (bool isLeader, long term) = _proposer.Leadership;
        bool takeOver;
        lock (_lock)
        {
            if (!isLeader)
            {
                if (_phase != Phase.Inactive)
                {
                    _logger.LogInformation("lease service: no longer leader (term {Term}); {Count} lease deadlines dropped", _term, _leases.Count);
                    Deactivate();
                }

                return;
            }

            takeOver = _phase == Phase.Inactive || _term != term;
            if (takeOver)
            {
                Deactivate();
                _phase = Phase.Loading;
                _term = term;
            }
        }

        if (takeOver)
        {
            await TakeOverAsync(term, cancellationToken).ConfigureAwait(false);
            return;
        }

        ExpireDue(term, cancellationToken);
        bool checkpointDue;
        bool raiseDue;
        lock (_lock)
        {
            checkpointDue = NowMs() >= _nextCheckpointMs && _checkpointing.IsCompleted;
            raiseDue = _raiseSoon.Count > 0 && _checkpointing.IsCompleted;
        }

        if (checkpointDue)
        {
            _checkpointing = CheckpointAsync(cancellationToken);
        }
        else if (raiseDue)
        {
            _checkpointing = RaiseRenewedAsync(cancellationToken);
        }

        if (NowMs() >= _nextForgetMs && _forgetting.IsCompleted)
        {
            _nextForgetMs = NowMs() + (long)_options.ForgetInterval.TotalMilliseconds;
            _forgetting = Task.Run(() => ForgetEndedAsync(cancellationToken), CancellationToken.None);
        }
    }

    /// <summary>Waits until the current checkpoint proposals (if any) are done; for tests.</summary>
    internal Task CheckpointsSettled => Task.WhenAll(_checkpointing, _forgetting);

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await StepAsync(cancellationToken).ConfigureAwait(false);
                await Task.Delay(_options.PollInterval, _options.Clock, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _logger.LogWarning(ex, "lease service round failed");
                try
                {
                    await Task.Delay(_options.PollInterval, _options.Clock, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task TakeOverAsync(long term, CancellationToken cancellationToken)
    {
        try
        {
            // A barrier: when this empty checkpoint is applied, so is every command of earlier terms.
            await _proposer.ProposeAsync(new KvCommand { LeaseCheckpoint = new LeaseCheckpointCommand() }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            _logger.LogDebug(ex, "lease service: could not take over in term {Term}", term);
            lock (_lock)
            {
                if (_term == term)
                {
                    Deactivate();
                }
            }

            return;
        }

        var charges = new List<LeaseCheckpoint>();
        lock (_lock)
        {
            if (_phase != Phase.Loading || _term != term)
            {
                return;
            }

            long now = NowMs();
            foreach ((long id, LeaseRecord record) in _machine.Leases.Live())
            {
                if (_leases.ContainsKey(id))
                {
                    // Granted after the load began: its grant timed it already.
                    continue;
                }

                long grantedMs = record.GrantedTtlSeconds * 1000;
                var timer = new LeaseTimer(grantedMs)
                {
                    // No grace for a fully charged record: else leaders that each live less than an
                    // election timeout would hand the grace on forever.
                    Deadline = now + record.RemainingMs + (record.RemainingMs > 0 ? _electionMs : 0),
                    Recorded = Math.Max(0, record.RemainingMs - _electionMs),

                    // Not renewed on this leader yet: checkpointed like an abandoned lease until it is.
                    LastRenewal = now - grantedMs,
                };
                Track(id, timer);
                charges.Add(new LeaseCheckpoint { Id = id, RemainingMs = timer.Recorded });
            }

            _phase = Phase.Active;
            _nextCheckpointMs = now + _intervalMs;
            _logger.LogInformation("lease service: leader in term {Term}, {Count} leases loaded", term, _leases.Count);
        }

        _checkpointing = ProposeCheckpointsAsync(charges, cancellationToken);
    }

    private void ExpireDue(long term, CancellationToken cancellationToken)
    {
        var due = new List<long>();
        lock (_lock)
        {
            if (_phase != Phase.Active)
            {
                return;
            }

            long now = NowMs();
            while (_revocationsInFlight + due.Count < _options.MaxRevocationsInFlight && _deadlines.TryPeek(out long id, out long deadline) && deadline <= now)
            {
                _deadlines.Dequeue();

                // Renewals leave older queue entries behind; only the lease's current deadline counts.
                if (_leases.TryGetValue(id, out LeaseTimer? timer) && timer.Deadline == deadline && !timer.Revoking)
                {
                    timer.Revoking = true;
                    due.Add(id);
                }
            }

            _revocationsInFlight += due.Count;
        }

        foreach (long[] batch in due.Chunk(_options.ExpiryBatchSize))
        {
            _ = ExpireAsync(batch, term, cancellationToken);
        }
    }

    /// <summary>Proposes the expiry of a batch of leases (one command, one revision); on failure they are retried next round.</summary>
    private async Task ExpireAsync(long[] ids, long term, CancellationToken cancellationToken)
    {
        bool retry;
        try
        {
            var command = new LeaseExpireCommand();
            command.Ids.AddRange(ids);
            object? result = await _proposer.ProposeAsync(new KvCommand { LeaseExpire = command }, cancellationToken).ConfigureAwait(false);
            retry = result is Error;
            if (result is Error error)
            {
                _logger.LogWarning("lease service: expiring {Count} leases was refused: {Error}", ids.Length, error.Message);
            }
        }
        catch (Exception ex)
        {
            retry = !cancellationToken.IsCancellationRequested;
            _logger.LogDebug(ex, "lease service: expiring {Count} leases failed", ids.Length);
        }

        lock (_lock)
        {
            _revocationsInFlight -= ids.Length;
            if (_term != term || _phase != Phase.Active)
            {
                return;
            }

            foreach (long id in ids)
            {
                if (!_leases.TryGetValue(id, out LeaseTimer? timer))
                {
                    continue;
                }

                if (retry)
                {
                    timer.Revoking = false;
                    _deadlines.Enqueue(id, timer.Deadline);
                }
                else
                {
                    // Ended already (a client's revoke overtook the expiry; the applied end normally removes it first).
                    _leases.Remove(id);
                }
            }
        }
    }

    private Task CheckpointAsync(CancellationToken cancellationToken)
    {
        var checkpoints = new List<LeaseCheckpoint>();
        lock (_lock)
        {
            if (_phase != Phase.Active)
            {
                return Task.CompletedTask;
            }

            long now = NowMs();
            _nextCheckpointMs = now + _intervalMs;
            foreach ((long id, LeaseTimer timer) in _leases)
            {
                if (timer.Revoking)
                {
                    continue;
                }

                long remaining = Math.Max(0, timer.Deadline - now);
                bool raise = timer.Renewed && remaining - timer.Recorded > _intervalMs;
                bool lower = now - timer.LastRenewal > timer.GrantedMs / 2 && timer.Recorded - remaining > _intervalMs;
                if (raise || lower)
                {
                    timer.Recorded = remaining;
                    timer.Renewed = false;
                    checkpoints.Add(new LeaseCheckpoint { Id = id, RemainingMs = remaining });
                }
            }
        }

        return ProposeCheckpointsAsync(checkpoints, cancellationToken);
    }

    /// <summary>Raises the records of leases renewed since a takeover charged them, without waiting for the next full checkpoint round.</summary>
    private Task RaiseRenewedAsync(CancellationToken cancellationToken)
    {
        var checkpoints = new List<LeaseCheckpoint>();
        lock (_lock)
        {
            if (_phase == Phase.Active)
            {
                long now = NowMs();
                foreach (long id in _raiseSoon)
                {
                    if (_leases.TryGetValue(id, out LeaseTimer? timer) && !timer.Revoking && timer.Renewed && timer.Deadline - now - timer.Recorded > _intervalMs)
                    {
                        timer.Recorded = timer.Deadline - now;
                        timer.Renewed = false;
                        checkpoints.Add(new LeaseCheckpoint { Id = id, RemainingMs = timer.Recorded });
                    }
                }
            }

            _raiseSoon.Clear();
        }

        return ProposeCheckpointsAsync(checkpoints, cancellationToken);
    }

    /// <summary>Proposes dropping the records of leases that ended more than the retention ago (the state machine re-checks with its clock).</summary>
    private async Task ForgetEndedAsync(CancellationToken cancellationToken)
    {
        long cutoff = _options.Clock.GetUtcNow().ToUnixTimeMilliseconds() - (long)_options.EndedLeaseRetention.TotalMilliseconds;
        List<long> ids = _machine.Leases.Ended().Where(l => l.Record.AtUnixMs <= cutoff).Select(l => l.Id).ToList();
        foreach (long[] batch in ids.Chunk(_options.CheckpointBatchSize))
        {
            var command = new LeaseForgetCommand();
            command.Ids.AddRange(batch);
            try
            {
                await _proposer.ProposeAsync(new KvCommand { LeaseForget = command }, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _logger.LogDebug(ex, "lease service: dropping {Count} ended lease records failed", batch.Length);
                return;
            }
        }
    }

    private async Task ProposeCheckpointsAsync(List<LeaseCheckpoint> checkpoints, CancellationToken cancellationToken)
    {
        for (int start = 0; start < checkpoints.Count; start += _options.CheckpointBatchSize)
        {
            var command = new LeaseCheckpointCommand();
            command.Checkpoints.AddRange(checkpoints.Skip(start).Take(_options.CheckpointBatchSize));
            try
            {
                await _proposer.ProposeAsync(new KvCommand { LeaseCheckpoint = command }, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Not leader any more (the next one charges its own takeover) or stopping.
                _logger.LogDebug(ex, "lease service: checkpoint of {Count} leases failed", command.Checkpoints.Count);
                return;
            }
        }
    }

    /// <summary>Keeps the deadlines in step with applied commands (runs on the applying thread, after commit).</summary>
    private void OnLeaseChanged(LeaseChange change)
    {
        lock (_lock)
        {
            if (_phase == Phase.Inactive)
            {
                return;
            }

            switch (change.Kind)
            {
                case LeaseChangeKind.Granted:
                    long now = NowMs();
                    long grantedMs = change.GrantedTtlSeconds * 1000;
                    Track(change.Id, new LeaseTimer(grantedMs) { Deadline = now + grantedMs, Recorded = change.RemainingMs, LastRenewal = now });
                    break;
                case LeaseChangeKind.Checkpointed when _leases.TryGetValue(change.Id, out LeaseTimer? timer):
                    timer.Recorded = change.RemainingMs;
                    break;
                case LeaseChangeKind.Ended:
                    _leases.Remove(change.Id);
                    break;
            }
        }
    }

    private void Track(long id, LeaseTimer timer)
    {
        _leases[id] = timer;
        _deadlines.Enqueue(id, timer.Deadline);
    }

    private void Deactivate()
    {
        _phase = Phase.Inactive;
        _leases.Clear();
        _deadlines.Clear();
        _raiseSoon.Clear();
    }

    private long NowMs() => (long)_options.Clock.GetElapsedTime(_origin).TotalMilliseconds;

    /// <summary>A lease as this leader times it (all times in ms of the service's monotonic clock).</summary>
    private sealed class LeaseTimer(long grantedMs)
    {
        public long GrantedMs { get; } = grantedMs;

        public long Deadline { get; set; }

        /// <summary>The remaining TTL the replicated record holds (or will, once this leader's checkpoint applies).</summary>
        public long Recorded { get; set; }

        public long LastRenewal { get; set; }

        /// <summary>Renewed since its record was last raised.</summary>
        public bool Renewed { get; set; }

        /// <summary>An expiry revocation is proposed: renewals are refused from now on.</summary>
        public bool Revoking { get; set; }
    }
}
