using KvStore.Client.Protocol.Messages;
using Microsoft.Extensions.Logging;

namespace KvStore.Client;

/// <summary>
/// One background loop per client that renews every kept-alive lease: each at about a third of
/// its TTL after its last acknowledged renewal, all leases due at once in one KeepAlive request
/// (up to <see cref="MaxIdsPerRequest"/> ids), so thousands of leases cost a frame per round, not
/// a frame per lease. Renewals go to the leader (the client's routing follows leader changes).
/// </summary>
/// <remarks>
/// A lease is reported lost when the leader answers that it is gone, or when no renewal was
/// acknowledged before its TTL ran out counted from the SEND time of the last acknowledged one:
/// past that instant the server may have expired it, so whatever it protects must be given up.
/// </remarks>
internal sealed class LeaseKeepAliveLoop : IAsyncDisposable
{
    internal const int MaxIdsPerRequest = 10_000;

    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxSleep = TimeSpan.FromSeconds(1);

    private readonly Func<LeaseKeepAliveRequest, CancellationToken, Task<LeaseKeepAliveResponse>> _send;
    private readonly Action<Lease, LeaseLossReason> _lost;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly long _origin;
    private readonly object _lock = new();
    private readonly Dictionary<long, Entry> _entries = [];
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;

    public LeaseKeepAliveLoop(
        Func<LeaseKeepAliveRequest, CancellationToken, Task<LeaseKeepAliveResponse>> send,
        Action<Lease, LeaseLossReason> lost,
        TimeProvider clock,
        ILogger logger)
    {
        _send = send;
        _lost = lost;
        _clock = clock;
        _logger = logger;
        _origin = clock.GetTimestamp();
    }

    /// <summary>How many leases are being kept alive.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>The client's current time on the loop's clock (ms), for <see cref="Add"/>.</summary>
    public long NowMs => (long)_clock.GetElapsedTime(_origin).TotalMilliseconds;

    /// <summary>Starts renewing <paramref name="lease"/>, whose TTL started no earlier than <paramref name="acknowledgedAtMs"/>.</summary>
    public void Add(Lease lease, long acknowledgedAtMs)
    {
        long ttlMs = (long)lease.Ttl.TotalMilliseconds;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_stopping.IsCancellationRequested, this);
            _entries[lease.Id] = new Entry(lease) { TtlMs = ttlMs, Deadline = acknowledgedAtMs + ttlMs, NextRenewal = acknowledgedAtMs + (ttlMs / 3) };
            _loop ??= Task.Run(() => RunAsync(_stopping.Token));
        }

        _wake.Release();
    }

    public void Remove(Lease lease)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(lease.Id, out Entry? entry) && ReferenceEquals(entry.Lease, lease))
            {
                _entries.Remove(lease.Id);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task? loop;
        lock (_lock)
        {
            if (_stopping.IsCancellationRequested)
            {
                return;
            }

            _stopping.Cancel();
            loop = _loop;
        }

        if (loop != null)
        {
            await loop.ConfigureAwait(false);
        }

        _stopping.Dispose();
        _wake.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await RoundAsync(cancellationToken).ConfigureAwait(false);
                await _wake.WaitAsync(SleepTime(), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _logger.LogWarning(ex, "lease keep-alive round failed");
            }
        }
    }

    private async Task RoundAsync(CancellationToken cancellationToken)
    {
        var due = new List<Entry>();
        var expired = new List<Entry>();
        lock (_lock)
        {
            long now = NowMs;
            foreach (Entry entry in _entries.Values)
            {
                if (now >= entry.Deadline)
                {
                    expired.Add(entry);
                }
                else if (now >= entry.NextRenewal && !entry.InFlight)
                {
                    entry.InFlight = true;
                    due.Add(entry);
                }
            }

            foreach (Entry entry in expired)
            {
                _entries.Remove(entry.Lease.Id);
            }
        }

        foreach (Entry entry in expired)
        {
            _lost(entry.Lease, LeaseLossReason.RenewalTimedOut);
        }

        if (due.Count > 0)
        {
            await Task.WhenAll(due.Chunk(MaxIdsPerRequest).Select(chunk => RenewAsync(chunk, cancellationToken))).ConfigureAwait(false);
        }
    }

    private async Task RenewAsync(Entry[] chunk, CancellationToken cancellationToken)
    {
        long sentAt = NowMs;
        var request = new LeaseKeepAliveRequest();
        request.Ids.AddRange(chunk.Select(e => e.Lease.Id));

        // Keep trying (the client retries on other members) until the first of these leases would run out.
        long budgetMs = Math.Max(1_000, chunk.Min(e => e.Deadline) - sentAt);
        LeaseKeepAliveResponse response;
        try
        {
            using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            budget.CancelAfter(TimeSpan.FromMilliseconds(budgetMs));
            response = await _send(request, budget.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            _logger.LogDebug(ex, "renewing {Count} leases failed; retrying", chunk.Length);
            lock (_lock)
            {
                long retryAt = NowMs + (long)RetryDelay.TotalMilliseconds;
                foreach (Entry entry in chunk)
                {
                    entry.InFlight = false;
                    entry.NextRenewal = retryAt;
                }
            }

            return;
        }

        var gone = new List<Lease>();
        var results = response.Results.ToDictionary(r => r.Id, r => r.TtlSeconds);
        lock (_lock)
        {
            foreach (Entry entry in chunk)
            {
                entry.InFlight = false;
                if (!results.TryGetValue(entry.Lease.Id, out long ttlSeconds))
                {
                    entry.NextRenewal = NowMs + (long)RetryDelay.TotalMilliseconds;
                }
                else if (ttlSeconds > 0)
                {
                    entry.TtlMs = ttlSeconds * 1000;
                    entry.Deadline = sentAt + entry.TtlMs;
                    entry.NextRenewal = sentAt + (entry.TtlMs / 3);
                }
                else if (_entries.TryGetValue(entry.Lease.Id, out Entry? current) && ReferenceEquals(current, entry))
                {
                    _entries.Remove(entry.Lease.Id);
                    gone.Add(entry.Lease);
                }
            }
        }

        foreach (Lease lease in gone)
        {
            _lost(lease, LeaseLossReason.Gone);
        }
    }

    private TimeSpan SleepTime()
    {
        lock (_lock)
        {
            if (_entries.Count == 0)
            {
                return Timeout.InfiniteTimeSpan;
            }

            long now = NowMs;
            long next = _entries.Values.Min(e => e.InFlight ? e.Deadline : Math.Min(e.NextRenewal, e.Deadline));
            return TimeSpan.FromMilliseconds(Math.Clamp(next - now, 10, (long)MaxSleep.TotalMilliseconds));
        }
    }

    /// <summary>One kept-alive lease; fields guarded by the loop's lock. Times in ms of the loop's clock.</summary>
    private sealed class Entry(Lease lease)
    {
        public Lease Lease { get; } = lease;

        public long TtlMs { get; set; }

        public long Deadline { get; set; }

        public long NextRenewal { get; set; }

        public bool InFlight { get; set; }
    }
}
