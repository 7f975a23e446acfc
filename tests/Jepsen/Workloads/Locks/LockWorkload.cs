using System.Globalization;
using KvStore.Client;
using KvStore.Jepsen.Run;
using KvStore.Jepsen.Workloads.Leases;

namespace KvStore.Jepsen.Workloads.Locks;

/// <summary>
/// Lock holders writing a protected key, in two variants side by side: <b>fenced</b> (every write is a
/// transaction guarded by FENCE on the lock with the holder's token) and the <b>unfenced control</b>
/// (plain puts). Each holder grants a lease of <see cref="TtlSeconds"/>, renews it by hand every
/// second, acquires the lock, writes a few times and releases. Now and then a holder stalls past
/// its TTL without renewing before its next write — a GC pause or a SIGSTOP of the client, as in
/// Kleppmann's fencing argument — so its lease expires and the lock passes to a waiter while it
/// still believes it holds it. The fence must refuse its late write; the control accepts it, and
/// <see cref="LockChecker"/> must see the violation there.
/// </summary>
public sealed class LockWorkload : IWorkload
{
    public const long TtlSeconds = 3;
    private const int HoldersPerVariant = 3;
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(TtlSeconds + 3);
    private static readonly TimeSpan OperationTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan AcquireTimeout = TimeSpan.FromSeconds(10);

    private readonly IReadOnlyList<string> _endpoints;
    private readonly RunClock _clock;
    private readonly Random _seeds;
    private readonly List<KvStoreClient> _clients = [];
    private readonly Variant[] _variants = [new("locks/fenced", "lockdata/fenced", Fenced: true), new("locks/control", "lockdata/control", Fenced: false)];
    private int _nextValue;

    public LockWorkload(IReadOnlyList<string> endpoints, string historyPath, RunClock clock, int seed)
    {
        _endpoints = endpoints;
        _clock = clock;
        _seeds = new Random(seed);
        History = new HistoryRecorder(historyPath, Name, clock);
    }

    public string Name => "lock";

    public HistoryRecorder History { get; }

    public async Task RunClientsAsync(CancellationToken cancellationToken)
    {
        var holders = new List<Task>();
        int process = 0;
        foreach (Variant variant in _variants)
        {
            for (int i = 0; i < HoldersPerVariant; i++)
            {
                KvStoreClient client = NewClient();
                var random = new Random(_seeds.Next());
                int p = process++;
                holders.Add(Task.Run(() => HolderAsync(variant, client, p, random, cancellationToken), CancellationToken.None));
            }
        }

        await Task.WhenAll(holders).ConfigureAwait(false);
    }

    public async Task FinalReadsAsync(CancellationToken cancellationToken)
    {
        KvStoreClient client = NewClient();
        foreach (Variant variant in _variants)
        {
            for (int attempt = 0; attempt < 10 && !variant.FinalRead && !cancellationToken.IsCancellationRequested; attempt++)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(OperationTimeout);
                try
                {
                    KvPair? kv = await client.GetAsync(variant.DataKey, cancellationToken: timeout.Token).ConfigureAwait(false);
                    variant.FinalValue = kv?.ValueString;
                    variant.FinalRead = true;
                }
                catch (Exception ex) when (ex is KvStoreException or OperationCanceledException or IOException)
                {
                    await Task.Delay(500, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    public IReadOnlyList<CheckerResult> Check()
    {
        History.Dispose();
        return _variants.Select(v =>
        {
            lock (v)
            {
                return LockChecker.Check([.. v.Grants], [.. v.Writes], v.FinalValue, v.FinalRead, control: !v.Fenced);
            }
        }).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (KvStoreClient client in _clients)
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }

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

    private async Task HolderAsync(Variant variant, KvStoreClient client, int process, Random random, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            long lease;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(OperationTimeout);
                (lease, _) = await LeaseCalls.GrantAsync(client, TtlSeconds, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is KvStoreException or OperationCanceledException or IOException)
            {
                await Delay(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
                continue;
            }

            using var renewing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Task renewal = RenewAsync(client, lease, renewing.Token);
            try
            {
                await HoldAsync(variant, client, process, random, lease, renewing, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await renewing.CancelAsync().ConfigureAwait(false);
                await renewal.ConfigureAwait(false);
                try
                {
                    using var timeout = new CancellationTokenSource(OperationTimeout);
                    await LeaseCalls.RevokeAsync(client, lease, timeout.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is KvStoreException or OperationCanceledException or IOException)
                {
                    // Gone already, or the cluster is unavailable: the lease expires by itself.
                }
            }
        }
    }

    private async Task HoldAsync(Variant variant, KvStoreClient client, int process, Random random, long lease, CancellationTokenSource renewing, CancellationToken cancellationToken)
    {
        LockHandle handle;
        long invoked = History.Invoke(process, "acquire", variant.LockName, HistoryRecorder.Null);
        try
        {
            handle = await client.Locks.AcquireLockAsync(variant.LockName, lease, AcquireTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is KvStoreException or OperationCanceledException or IOException)
        {
            History.Complete(process, "acquire", variant.LockName, invoked, OperationOutcome.Fail, HistoryRecorder.Null, $"{ex.GetType().Name}: {ex.Message}");
            return;
        }

        long token = handle.FencingToken;
        History.Complete(process, "acquire", variant.LockName, invoked, OperationOutcome.Ok, w => w.WriteNumberValue(token));
        lock (variant)
        {
            variant.Grants.Add(new LockGrant(process, token, _clock.Nanos));
        }

        int writes = random.Next(1, 4);
        for (int i = 0; i < writes && !cancellationToken.IsCancellationRequested; i++)
        {
            bool stall = random.Next(3) == 0;
            if (stall)
            {
                // The holder freezes: no renewal, no write, for longer than its TTL.
                await renewing.CancelAsync().ConfigureAwait(false);
                await Delay(Stall, cancellationToken).ConfigureAwait(false);
            }

            await WriteAsync(variant, client, process, handle, cancellationToken).ConfigureAwait(false);
            if (stall)
            {
                break;
            }

            await Delay(TimeSpan.FromMilliseconds(100 + random.Next(200)), cancellationToken).ConfigureAwait(false);
        }

        try
        {
            using var timeout = new CancellationTokenSource(OperationTimeout);
            await handle.ReleaseAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is KvStoreException or OperationCanceledException or IOException)
        {
            // The revoke of the lease releases it anyway.
        }
    }

    private async Task WriteAsync(Variant variant, KvStoreClient client, int process, LockHandle handle, CancellationToken cancellationToken)
    {
        string value = string.Create(CultureInfo.InvariantCulture, $"p{process}-t{handle.FencingToken}-{Interlocked.Increment(ref _nextValue)}");
        long invoked = History.Invoke(process, "write", variant.DataKey, w => w.WriteStringValue(value));
        long invokedNanos = _clock.Nanos;
        OperationOutcome outcome;
        long revision = 0;
        string? error = null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(OperationTimeout);
        try
        {
            if (variant.Fenced)
            {
                TxnResult result = await client.Txn().If(handle.Fence).Then(Op.Put(variant.DataKey, value)).CommitAsync(timeout.Token).ConfigureAwait(false);
                outcome = result.Succeeded ? OperationOutcome.Ok : OperationOutcome.Fail;
                revision = result.Header.Revision;
            }
            else
            {
                PutResult put = await client.PutAsync(variant.DataKey, value, cancellationToken: timeout.Token).ConfigureAwait(false);
                outcome = OperationOutcome.Ok;
                revision = put.Header.Revision;
            }
        }
        catch (Exception ex) when (ex is KvStoreException or OperationCanceledException or IOException)
        {
            outcome = OperationOutcome.Info;
            error = $"{ex.GetType().Name}: {ex.Message}";
        }

        History.Complete(process, "write", variant.DataKey, invoked, outcome, w => w.WriteStringValue(value), error);
        lock (variant)
        {
            variant.Writes.Add(new LockedWrite(process, handle.FencingToken, value, invokedNanos, _clock.Nanos, outcome, outcome == OperationOutcome.Ok ? revision : 0));
        }
    }

    /// <summary>Renews the lease every second until told to stop (a release, or a stall).</summary>
    private static async Task RenewAsync(KvStoreClient client, long lease, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            try
            {
                if (await LeaseCalls.KeepAliveOnceAsync(client, lease, cancellationToken).ConfigureAwait(false) <= 0)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is KvStoreException or OperationCanceledException or IOException)
            {
                // Try again next second; a lease that ran out meanwhile ends the hold by itself.
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

    /// <summary>One lock, its protected key, and what its holders saw. Lock on the instance to touch the lists.</summary>
    private sealed record Variant(string LockName, string DataKey, bool Fenced)
    {
        public List<LockGrant> Grants { get; } = [];

        public List<LockedWrite> Writes { get; } = [];

        public string? FinalValue { get; set; }

        public bool FinalRead { get; set; }
    }
}
