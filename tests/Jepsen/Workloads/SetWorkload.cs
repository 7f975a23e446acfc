using System.Globalization;
using System.Text;
using System.Text.Json;
using KvStore.Client;
using KvStore.Jepsen.Run;

namespace KvStore.Jepsen.Workloads;

/// <summary>
/// A grow-only set: adders insert unique elements (element e is the key <c>set/e</c>), one reader
/// reads the whole set now and then (a linearizable range read), and after recovery a final read
/// decides. Reported, as Jepsen's set-full checker does:
/// lost = acknowledged adds missing from the final read; unexpected = elements read that were
/// never added; duplicated = elements the final read returned more than once; stale = reads that
/// miss an element whose add was acknowledged before the read began. Any of them is invalid.
/// Adds of unknown outcome that appear in the final read are counted as recovered (valid).
/// </summary>
public sealed class SetWorkload : IWorkload
{
    private const string Prefix = "set/";
    private const int Adders = 4;
    private static readonly TimeSpan OperationTimeout = TimeSpan.FromSeconds(5);

    private readonly IReadOnlyList<string> _endpoints;
    private readonly RunClock _clock;
    private readonly List<KvStoreClient> _clients = [];
    private readonly object _lock = new();
    private readonly HashSet<long> _attempted = [];
    private readonly Dictionary<long, long> _acknowledgedAt = [];
    private readonly HashSet<long> _unknown = [];
    private readonly List<(long InvokedAt, HashSet<long> Seen)> _reads = [];
    private List<long>? _final;
    private long _nextElement = -1;
    private int _nextProcess = Adders + 1;

    public SetWorkload(IReadOnlyList<string> endpoints, string historyPath, RunClock clock)
    {
        _endpoints = endpoints;
        _clock = clock;
        History = new HistoryRecorder(historyPath, Name, clock);
    }

    public string Name => "set";

    public HistoryRecorder History { get; }

    public async Task RunClientsAsync(CancellationToken cancellationToken)
    {
        var workers = new List<Task>();
        for (int i = 0; i < Adders; i++)
        {
            KvStoreClient client = NewClient();
            _clients.Add(client);
            int process = i;
            workers.Add(Task.Run(() => AdderAsync(client, process, cancellationToken), CancellationToken.None));
        }

        KvStoreClient reader = NewClient();
        _clients.Add(reader);
        workers.Add(Task.Run(() => ReaderAsync(reader, Adders, cancellationToken), CancellationToken.None));
        await Task.WhenAll(workers).ConfigureAwait(false);
    }

    public async Task FinalReadsAsync(CancellationToken cancellationToken)
    {
        await using KvStoreClient client = NewClient();
        for (int attempt = 0; attempt < 10 && _final is null && !cancellationToken.IsCancellationRequested; attempt++)
        {
            _final = await ReadAsync(client, Interlocked.Increment(ref _nextProcess)).ConfigureAwait(false);
            if (_final is null)
            {
                await Task.Delay(500, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public IReadOnlyList<CheckerResult> Check() => [CheckOne()];

    private CheckerResult CheckOne()
    {
        History.Dispose();
        IReadOnlyList<OperationRecord> ops = History.Operations;
        var details = new Dictionary<string, object>
        {
            ["ok"] = ops.Count(o => o.Outcome == OperationOutcome.Ok),
            ["fail"] = ops.Count(o => o.Outcome == OperationOutcome.Fail),
            ["info"] = ops.Count(o => o.Outcome == OperationOutcome.Info),
        };
        lock (_lock)
        {
            return SetChecker.Check(_attempted, _acknowledgedAt, _unknown, _reads.Select(r => (r.InvokedAt, (IReadOnlySet<long>)r.Seen)).ToList(), _final, details);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (KvStoreClient client in _clients)
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }

        History.Dispose();
    }

    private KvStoreClient NewClient() => new(new KvStoreClientOptions { Endpoints = [.. _endpoints], RequestTimeout = OperationTimeout });

    private async Task AdderAsync(KvStoreClient client, int process, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            long element = Interlocked.Increment(ref _nextElement);
            lock (_lock)
            {
                _attempted.Add(element);
            }

            long invoked = History.Invoke(process, "add", null, w => w.WriteNumberValue(element));
            using var timeout = new CancellationTokenSource(OperationTimeout);
            try
            {
                await client.PutAsync(Key(element), "1", cancellationToken: timeout.Token).ConfigureAwait(false);
                History.Complete(process, "add", null, invoked, OperationOutcome.Ok, w => w.WriteNumberValue(element));
                lock (_lock)
                {
                    // The add took effect by its completion; a read invoked after this must see it.
                    _acknowledgedAt[element] = _clock.Nanos;
                }
            }
            catch (Exception ex) when (ex is KvStoreException or OperationCanceledException or IOException)
            {
                History.Complete(process, "add", null, invoked, OperationOutcome.Info, w => w.WriteNumberValue(element), $"{ex.GetType().Name}: {ex.Message}");
                lock (_lock)
                {
                    _unknown.Add(element);
                }

                process = Interlocked.Increment(ref _nextProcess);
            }
        }
    }

    private async Task ReaderAsync(KvStoreClient client, int process, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await ReadAsync(client, process).ConfigureAwait(false);
            try
            {
                await Task.Delay(250, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Reads the whole set; null when the read failed.</summary>
    private async Task<List<long>?> ReadAsync(KvStoreClient client, int process)
    {
        long invoked = History.Invoke(process, "read", null, HistoryRecorder.Null);
        using var timeout = new CancellationTokenSource(OperationTimeout);
        try
        {
            RangeResult range = await client.RangeAsync(RangeOptions.ForPrefix(Prefix), timeout.Token).ConfigureAwait(false);
            var elements = range.Kvs.Select(kv => long.Parse(Encoding.UTF8.GetString(kv.Key.Span)[Prefix.Length..], CultureInfo.InvariantCulture)).ToList();
            History.Complete(process, "read", null, invoked, OperationOutcome.Ok, w => WriteElements(w, elements));
            lock (_lock)
            {
                _reads.Add((invoked, elements.ToHashSet()));
            }

            return elements;
        }
        catch (Exception ex) when (ex is KvStoreException or OperationCanceledException or IOException)
        {
            History.Complete(process, "read", null, invoked, OperationOutcome.Fail, HistoryRecorder.Null, $"{ex.GetType().Name}: {ex.Message}");
            return null;
        }
    }

    private static void WriteElements(Utf8JsonWriter writer, List<long> elements)
    {
        writer.WriteStartArray();
        foreach (long e in elements)
        {
            writer.WriteNumberValue(e);
        }

        writer.WriteEndArray();
    }

    private static string Key(long element) => Prefix + element.ToString("D10", CultureInfo.InvariantCulture);
}
