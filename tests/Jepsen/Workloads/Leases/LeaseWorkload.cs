using System.Globalization;
using KvStore.Client;
using KvStore.Jepsen.Run;

namespace KvStore.Jepsen.Workloads.Leases;

/// <summary>
/// Clients grant leases of <see cref="TtlSeconds"/>, attach one key to each, renew it by hand a few
/// times and then end it one of three ways: revoke it (then read its key at once: it must be gone),
/// abandon it (stop renewing: it must expire), or keep it alive to the end (a few per run). After
/// recovery, once every abandoned lease is past its TTL plus the bound, every lease's key is read.
/// Checked by <see cref="LeaseChecker"/>.
/// </summary>
public sealed class LeaseWorkload : IWorkload
{
    public const long TtlSeconds = 3;
    private const int Clients = 4;
    private const int MaxKeptAlive = 4;
    private const string Prefix = "leases/";
    private static readonly TimeSpan OperationTimeout = TimeSpan.FromSeconds(5);

    private readonly IReadOnlyList<string> _endpoints;
    private readonly RunClock _clock;
    private readonly Random _seeds;
    private readonly TimeSpan _bound;
    private readonly List<KvStoreClient> _clients = [];
    private readonly object _lock = new();
    private readonly List<LeaseLife> _leases = [];
    private readonly List<LeaseKeyRead> _reads = [];
    private readonly Dictionary<long, (string Key, long GrantedNanos, long LastRenewedNanos)> _keptAlive = [];
    private readonly CancellationTokenSource _stopRenewing = new();
    private Task? _renewer;

    /// <param name="bound">How long past its TTL a lease may live (see <see cref="LeaseChecker"/>).</param>
    public LeaseWorkload(IReadOnlyList<string> endpoints, string historyPath, RunClock clock, int seed, TimeSpan bound)
    {
        _endpoints = endpoints;
        _clock = clock;
        _seeds = new Random(seed);
        _bound = bound;
        History = new HistoryRecorder(historyPath, Name, clock);
    }

    public string Name => "lease";

    public HistoryRecorder History { get; }

    /// <summary>
    /// The bound for a run, past last renewal + TTL. docs/coordination.md states TTL + max(TTL/2, 2 s)
    /// + one election timeout of time with a leader across a leader change; to that come the TTL again
    /// (the clock nemesis may run the leader's clock at half speed), a second election timeout
    /// (randomized up to 2 s, one for the takeover's grace and one for the election before it), and one
    /// fault interval in which the cluster may have no leader (no lease expires then).
    /// </summary>
    public static TimeSpan BoundFor(TimeSpan faultInterval) =>
        TimeSpan.FromSeconds(Math.Max(TtlSeconds / 2.0, 2) + TtlSeconds + (2 * 2)) + faultInterval;

    public async Task RunClientsAsync(CancellationToken cancellationToken)
    {
        KvStoreClient renewerClient = NewClient();
        _renewer = Task.Run(() => RenewKeptAliveAsync(renewerClient, _stopRenewing.Token), CancellationToken.None);
        var workers = new List<Task>();
        for (int i = 0; i < Clients; i++)
        {
            KvStoreClient client = NewClient();
            var random = new Random(_seeds.Next());
            int process = i;
            workers.Add(Task.Run(() => ClientAsync(client, process, random, cancellationToken), CancellationToken.None));
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
    }

    public async Task FinalReadsAsync(CancellationToken cancellationToken)
    {
        long mustBeGoneBy;
        lock (_lock)
        {
            mustBeGoneBy = _leases.Where(l => l.Ending == LeaseEnding.Abandoned)
                .Select(l => l.LastRenewedNanos + (TtlSeconds * 1_000_000_000) + (_bound.Ticks * 100))
                .DefaultIfEmpty(0).Max();
        }

        long wait = mustBeGoneBy - _clock.Nanos;
        if (wait > 0)
        {
            await Task.Delay(TimeSpan.FromTicks(wait / 100) + TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
        }

        KvStoreClient client = NewClient();
        List<string> keys;
        lock (_lock)
        {
            keys = _leases.Select(l => l.Key).Concat(_keptAlive.Values.Select(k => k.Key)).Distinct().ToList();
        }

        foreach (string key in keys)
        {
            for (int attempt = 0; attempt < 5 && !cancellationToken.IsCancellationRequested; attempt++)
            {
                if (await ReadAsync(client, Clients, key, final: true, cancellationToken).ConfigureAwait(false))
                {
                    break;
                }

                await Task.Delay(500, cancellationToken).ConfigureAwait(false);
            }
        }

        await _stopRenewing.CancelAsync().ConfigureAwait(false);
        if (_renewer is not null)
        {
            await _renewer.ConfigureAwait(false);
        }

        lock (_lock)
        {
            foreach ((long lease, (string key, long granted, long renewed)) in _keptAlive)
            {
                _leases.Add(new LeaseLife(lease, key, TtlSeconds * 1000, granted, renewed, LeaseEnding.KeptAlive, _clock.Nanos));
            }

            _keptAlive.Clear();
        }
    }

    public IReadOnlyList<CheckerResult> Check()
    {
        History.Dispose();
        lock (_lock)
        {
            return [LeaseChecker.Check([.. _leases], [.. _reads], _bound)];
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopRenewing.CancelAsync().ConfigureAwait(false);
        if (_renewer is not null)
        {
            await _renewer.ConfigureAwait(false);
        }

        foreach (KvStoreClient client in _clients)
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }

        _stopRenewing.Dispose();
        History.Dispose();
    }

    private KvStoreClient NewClient()
    {
        var client = new KvStoreClient(new KvStoreClientOptions { Endpoints = [.. _endpoints], RequestTimeout = OperationTimeout });
        lock (_clients)
        {
            _clients.Add(client);
        }

        return client;
    }

    private async Task ClientAsync(KvStoreClient client, int process, Random random, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(OperationTimeout);
            long lease;
            long granted;
            string key;
            try
            {
                long invoked = History.Invoke(process, "grant", null, HistoryRecorder.Null);
                (lease, _) = await LeaseCalls.GrantAsync(client, TtlSeconds, timeout.Token).ConfigureAwait(false);
                granted = _clock.Nanos;
                History.Complete(process, "grant", null, invoked, OperationOutcome.Ok, w => w.WriteNumberValue(lease));
                key = string.Create(CultureInfo.InvariantCulture, $"{Prefix}{lease:x16}");
                invoked = History.Invoke(process, "put", key, w => w.WriteNumberValue(lease));
                await client.PutAsync(key, "held", new PutOptions { Lease = lease }, timeout.Token).ConfigureAwait(false);
                History.Complete(process, "put", key, invoked, OperationOutcome.Ok, w => w.WriteNumberValue(lease));
            }
            catch (Exception ex) when (ex is KvStoreException or OperationCanceledException or IOException)
            {
                // A lease or key of unknown fate: it is bounded by the TTL and judged by nobody.
                await Delay(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
                continue;
            }

            long lastRenewed = granted;
            int fate = random.Next(10);
            bool keep = fate >= 8;
            lock (_lock)
            {
                keep &= _keptAlive.Count < MaxKeptAlive;
                if (keep)
                {
                    _keptAlive[lease] = (key, granted, granted);
                }
            }

            if (keep)
            {
                continue;
            }

            bool alive = true;
            for (int i = random.Next(1, 4); i > 0 && alive && !cancellationToken.IsCancellationRequested; i--)
            {
                await Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                (alive, long? renewedAt) = await RenewAsync(client, process, lease, cancellationToken).ConfigureAwait(false);
                lastRenewed = renewedAt ?? lastRenewed;
            }

            if (fate < 4 && alive)
            {
                await RevokeAndReadAsync(client, process, lease, key, granted, lastRenewed).ConfigureAwait(false);
            }
            else
            {
                lock (_lock)
                {
                    _leases.Add(new LeaseLife(lease, key, TtlSeconds * 1000, granted, lastRenewed, LeaseEnding.Abandoned, _clock.Nanos));
                }
            }
        }
    }

    /// <summary>Returns whether the lease is still alive (unknown counts as alive) and when an acknowledged renewal completed.</summary>
    private async Task<(bool Alive, long? RenewedAt)> RenewAsync(KvStoreClient client, int process, long lease, CancellationToken cancellationToken)
    {
        long invoked = History.Invoke(process, "keepalive", null, w => w.WriteNumberValue(lease));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(OperationTimeout);
        try
        {
            long ttl = await LeaseCalls.KeepAliveOnceAsync(client, lease, timeout.Token).ConfigureAwait(false);
            History.Complete(process, "keepalive", null, invoked, ttl > 0 ? OperationOutcome.Ok : OperationOutcome.Fail, w => w.WriteNumberValue(ttl));
            return ttl > 0 ? (true, _clock.Nanos) : (false, null);
        }
        catch (Exception ex) when (ex is KvStoreException or OperationCanceledException or IOException)
        {
            History.Complete(process, "keepalive", null, invoked, OperationOutcome.Fail, HistoryRecorder.Null, $"{ex.GetType().Name}: {ex.Message}");
            return (true, null);
        }
    }

    private async Task RevokeAndReadAsync(KvStoreClient client, int process, long lease, string key, long granted, long lastRenewed)
    {
        long invoked = History.Invoke(process, "revoke", key, w => w.WriteNumberValue(lease));
        using var timeout = new CancellationTokenSource(OperationTimeout);
        LeaseEnding ending;
        try
        {
            await LeaseCalls.RevokeAsync(client, lease, timeout.Token).ConfigureAwait(false);
            ending = LeaseEnding.Revoked;
            History.Complete(process, "revoke", key, invoked, OperationOutcome.Ok, w => w.WriteNumberValue(lease));
        }
        catch (KvStoreProtocolException ex) when (ex.Code == KvStore.Client.Protocol.Messages.ErrorCode.LeaseNotFound)
        {
            // It expired before the revoke: judged as an abandoned lease.
            ending = LeaseEnding.Abandoned;
            History.Complete(process, "revoke", key, invoked, OperationOutcome.Fail, HistoryRecorder.Null, ex.Message);
        }
        catch (Exception ex) when (ex is KvStoreException or OperationCanceledException or IOException)
        {
            ending = LeaseEnding.Unknown;
            History.Complete(process, "revoke", key, invoked, OperationOutcome.Info, HistoryRecorder.Null, $"{ex.GetType().Name}: {ex.Message}");
        }

        lock (_lock)
        {
            _leases.Add(new LeaseLife(lease, key, TtlSeconds * 1000, granted, lastRenewed, ending, _clock.Nanos));
        }

        if (ending == LeaseEnding.Revoked)
        {
            await ReadAsync(client, process, key, final: false, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>A linearizable read of a lease key; returns whether it answered.</summary>
    private async Task<bool> ReadAsync(KvStoreClient client, int process, string key, bool final, CancellationToken cancellationToken)
    {
        long invoked = History.Invoke(process, "read", key, HistoryRecorder.Null);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(OperationTimeout);
        try
        {
            KvPair? kv = await client.GetAsync(key, cancellationToken: timeout.Token).ConfigureAwait(false);
            History.Complete(process, "read", key, invoked, OperationOutcome.Ok, w => w.WriteBooleanValue(kv is not null));
            lock (_lock)
            {
                _reads.Add(new LeaseKeyRead(key, kv is not null, invoked, _clock.Nanos, final));
            }

            return true;
        }
        catch (Exception ex) when (ex is KvStoreException or OperationCanceledException or IOException)
        {
            History.Complete(process, "read", key, invoked, OperationOutcome.Fail, HistoryRecorder.Null, $"{ex.GetType().Name}: {ex.Message}");
            return false;
        }
    }

    /// <summary>Renews every kept-alive lease each second until the final reads are done.</summary>
    private async Task RenewKeptAliveAsync(KvStoreClient client, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            List<long> leases;
            lock (_lock)
            {
                leases = [.. _keptAlive.Keys];
            }

            foreach (long lease in leases)
            {
                (bool alive, long? renewedAt) = await RenewAsync(client, Clients + 1, lease, cancellationToken).ConfigureAwait(false);
                lock (_lock)
                {
                    if (!_keptAlive.TryGetValue(lease, out var kept))
                    {
                        continue;
                    }

                    if (renewedAt is { } at)
                    {
                        _keptAlive[lease] = kept with { LastRenewedNanos = at };
                    }
                    else if (!alive)
                    {
                        // It ran out (a long outage); from then on it is an abandoned lease.
                        _keptAlive.Remove(lease);
                        _leases.Add(new LeaseLife(lease, kept.Key, TtlSeconds * 1000, kept.GrantedNanos, kept.LastRenewedNanos, LeaseEnding.Abandoned, _clock.Nanos));
                    }
                }
            }
        }
    }

    private static async Task Delay(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }
}
