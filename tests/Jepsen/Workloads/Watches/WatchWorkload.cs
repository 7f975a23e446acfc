using System.Globalization;
using KvStore.Client;
using KvStore.Client.Watch;
using KvStore.Jepsen.Run;

namespace KvStore.Jepsen.Workloads.Watches;

/// <summary>
/// Writers change keys under <c>watch/</c> (single puts of unique values, two-key transactions, and
/// deletes) while watchers watch the prefix, each restarting its watch now and then at the revision
/// after the last one it saw (some with progress bookmarks, some starting in the past). After
/// recovery every watcher resumes once more until it reaches the last acknowledged write. Checked by
/// <see cref="WatchChecker"/> against the acknowledged writes.
/// </summary>
public sealed class WatchWorkload : IWorkload
{
    private const string Prefix = "watch/";
    private const int Writers = 2;
    private const int Watchers = 3;
    private const int Keys = 8;
    private static readonly TimeSpan OperationTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan CatchUpTimeout = TimeSpan.FromSeconds(30);

    private readonly IReadOnlyList<string> _endpoints;
    private readonly Random _seeds;
    private readonly List<KvStoreClient> _clients = [];
    private readonly object _lock = new();
    private readonly List<WatchedWrite> _writes = [];
    private readonly List<WatcherState> _watchers = [];
    private readonly List<string> _errors = [];
    private long _nextValue;
    private int _nextProcess = Writers + Watchers;

    public WatchWorkload(IReadOnlyList<string> endpoints, string historyPath, RunClock clock, int seed)
    {
        _endpoints = endpoints;
        _seeds = new Random(seed);
        History = new HistoryRecorder(historyPath, Name, clock);
    }

    public string Name => "watch";

    public HistoryRecorder History { get; }

    public async Task RunClientsAsync(CancellationToken cancellationToken)
    {
        var workers = new List<Task>();
        for (int i = 0; i < Writers; i++)
        {
            KvStoreClient client = NewClient();
            int process = i;
            var random = new Random(_seeds.Next());
            workers.Add(Task.Run(() => WriterAsync(client, process, random, cancellationToken), CancellationToken.None));
        }

        for (int i = 0; i < Watchers; i++)
        {
            var watcher = new WatcherState(Writers + i, NewClient(), new Random(_seeds.Next()), ProgressNotify: i % 2 == 0);
            _watchers.Add(watcher);
            workers.Add(Task.Run(() => WatchLoopAsync(watcher, cancellationToken), CancellationToken.None));
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
    }

    public async Task FinalReadsAsync(CancellationToken cancellationToken)
    {
        long target;
        lock (_lock)
        {
            target = _writes.Where(w => w.Outcome == OperationOutcome.Ok).Select(w => w.Revision).DefaultIfEmpty(0).Max();
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(CatchUpTimeout);
        await Task.WhenAll(_watchers.Select(w => CatchUpAsync(w, target, deadline.Token))).ConfigureAwait(false);
    }

    public IReadOnlyList<CheckerResult> Check()
    {
        History.Dispose();
        List<WatchedWrite> writes;
        lock (_lock)
        {
            writes = [.. _writes];
        }

        CheckerResult result = WatchChecker.Check(writes, _watchers.Select(w => new WatcherHistory(w.Process, w.Segments)).ToList());
        var details = new Dictionary<string, object>(result.Details) { ["streamErrors"] = _errors.Take(20).ToList() };
        return [result with { Details = details }];
    }

    public async ValueTask DisposeAsync()
    {
        foreach (KvStoreClient client in _clients.Concat(_watchers.Select(w => w.Client)))
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }

        History.Dispose();
    }

    private KvStoreClient NewClient()
    {
        var client = new KvStoreClient(new KvStoreClientOptions { Endpoints = [.. _endpoints], RequestTimeout = OperationTimeout });
        lock (_lock)
        {
            _clients.Add(client);
        }

        return client;
    }

    private static string Key(int index) => string.Create(CultureInfo.InvariantCulture, $"{Prefix}{index}");

    private async Task WriterAsync(KvStoreClient client, int process, Random random, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            int kind = random.Next(10);
            int index = random.Next(Keys);
            string key = Key(index);
            string value = string.Create(CultureInfo.InvariantCulture, $"v{Interlocked.Increment(ref _nextValue)}");
            string function = kind < 7 ? "put" : kind < 9 ? "txn" : "delete";
            KeyChange[] changes = function switch
            {
                "put" => [new KeyChange(key, value)],

                // Two keys in one revision: a watcher must see both events together.
                "txn" => [new KeyChange(key, value), new KeyChange(Key((index + 1 + random.Next(Keys - 1)) % Keys), value + "b")],
                _ => [new KeyChange(key, null)],
            };
            long invoked = History.Invoke(process, function, key, HistoryRecorder.Null);
            using var timeout = new CancellationTokenSource(OperationTimeout);
            try
            {
                switch (function)
                {
                    case "put":
                        PutResult put = await client.PutAsync(key, value, cancellationToken: timeout.Token).ConfigureAwait(false);
                        Record(OperationOutcome.Ok, put.Header.Revision, changes);
                        break;
                    case "txn":
                        TxnResult txn = await client.Txn().Then([.. changes.Select(c => Op.Put(c.Key, c.Value!))]).CommitAsync(timeout.Token).ConfigureAwait(false);
                        Record(OperationOutcome.Ok, txn.Header.Revision, changes);
                        break;
                    default:
                        DeleteResult deleted = await client.DeleteAsync(key, cancellationToken: timeout.Token).ConfigureAwait(false);
                        if (deleted.Deleted > 0)
                        {
                            // Deleting nothing makes no revision and no event.
                            Record(OperationOutcome.Ok, deleted.Header.Revision, changes);
                        }

                        break;
                }

                History.Complete(process, function, key, invoked, OperationOutcome.Ok, HistoryRecorder.Null);
            }
            catch (Exception ex) when (ex is KvStoreException or OperationCanceledException or IOException)
            {
                // The write may have happened: a watcher that saw it tells the checker at which revision.
                Record(OperationOutcome.Info, 0, changes);
                History.Complete(process, function, key, invoked, OperationOutcome.Info, HistoryRecorder.Null, $"{ex.GetType().Name}: {ex.Message}");
                process = Interlocked.Increment(ref _nextProcess);
            }
        }
    }

    private void Record(OperationOutcome outcome, long revision, params KeyChange[] changes)
    {
        lock (_lock)
        {
            _writes.AddRange(changes.Select(c => new WatchedWrite(c, outcome, revision)));
        }
    }

    /// <summary>Watches in streams of a few seconds each; the next starts at the revision after the last one seen.</summary>
    private async Task WatchLoopAsync(WatcherState watcher, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (watcher.Segments.Count == 0 && !await ChooseStartAsync(watcher, cancellationToken).ConfigureAwait(false))
            {
                await Delay(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
                continue;
            }

            using var stream = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            stream.CancelAfter(TimeSpan.FromSeconds(2 + watcher.Random.Next(7)));
            await WatchSegmentAsync(watcher, target: null, stream.Token).ConfigureAwait(false);
        }
    }

    private async Task CatchUpAsync(WatcherState watcher, long target, CancellationToken cancellationToken)
    {
        if (watcher.Segments.Count == 0 || watcher.Last >= target)
        {
            return;
        }

        while (!cancellationToken.IsCancellationRequested && watcher.Last < target)
        {
            await WatchSegmentAsync(watcher, target, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The first stream starts at "now" or in the past (the history path of the watch), at an explicit revision the checker knows.</summary>
    private async Task<bool> ChooseStartAsync(WatcherState watcher, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(OperationTimeout);
        try
        {
            RangeResult now = await watcher.Client.RangeAsync(RangeOptions.ForPrefix(Prefix) with { CountOnly = true }, timeout.Token).ConfigureAwait(false);
            long back = watcher.Random.Next(2) == 0 ? 0 : watcher.Random.Next(1, 200);
            watcher.Last = Math.Max(0, now.Header.Revision - back);
            return true;
        }
        catch (Exception ex) when (ex is KvStoreException or OperationCanceledException or IOException)
        {
            return false;
        }
    }

    private async Task WatchSegmentAsync(WatcherState watcher, long? target, CancellationToken cancellationToken)
    {
        long start = watcher.Last + 1;
        var deliveries = new List<WatchDelivery>();
        watcher.Segments.Add(new WatchSegment(start, deliveries));
        long invoked = History.Invoke(watcher.Process, "watch", Prefix, w => w.WriteNumberValue(start));
        OperationOutcome outcome = OperationOutcome.Ok;
        string? error = null;
        try
        {
            var options = new WatchOptions { Prefix = true, StartRevision = start, ProgressNotify = watcher.ProgressNotify };
            await foreach (WatchBatch batch in watcher.Client.Watch(Prefix, options, cancellationToken).ConfigureAwait(false))
            {
                deliveries.Add(new WatchDelivery(
                    batch.Revision,
                    batch.Events.Select(e => new KeyChange(e.Kv.KeyString, e.Type == WatchEventType.Put ? e.Kv.ValueString : null)).ToArray(),
                    batch.IsProgress));
                watcher.Last = Math.Max(watcher.Last, batch.Revision);
                if (target is { } t && watcher.Last >= t)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The restart (or the end of the phase) we asked for.
        }
        catch (Exception ex) when (ex is KvStoreException or IOException)
        {
            outcome = OperationOutcome.Fail;
            error = $"{ex.GetType().Name}: {ex.Message}";
            lock (_lock)
            {
                _errors.Add($"watcher {watcher.Process} stream from {start}: {error}");
            }

            await Delay(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
        }

        History.Complete(watcher.Process, "watch", Prefix, invoked, outcome, w => w.WriteNumberValue(watcher.Last), error);
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

    /// <summary>A watcher's client and everything it saw.</summary>
    private sealed record WatcherState(int Process, KvStoreClient Client, Random Random, bool ProgressNotify)
    {
        public List<WatchSegment> Segments { get; } = [];

        /// <summary>The last revision seen (event or bookmark); the next stream starts after it.</summary>
        public long Last { get; set; }
    }
}
