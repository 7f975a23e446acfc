using System.Globalization;
using KvStore.Client;
using KvStore.Jepsen.Histories;
using KvStore.Jepsen.Linearizability;
using KvStore.Jepsen.Linearizability.Models;
using KvStore.Jepsen.Run;

namespace KvStore.Jepsen.Workloads;

/// <summary>
/// Independent registers: clients read, write and compare-and-set small integers, at most
/// <see cref="OperationsPerKey"/> operations per key (keys <c>register/0</c>, <c>register/1</c>, ...),
/// so each key's history stays small enough to check exhaustively. Checked per key against the
/// cas-register model. A write or cas that times out or loses its connection is :info (it may
/// have happened); a read that fails is :fail (it changed nothing).
/// </summary>
public sealed class RegisterWorkload : IWorkload
{
    public const int OperationsPerKey = 200;
    private const int Clients = 5;
    private const int Values = 5;
    private static readonly TimeSpan OperationTimeout = TimeSpan.FromSeconds(5);

    private readonly IReadOnlyList<string> _endpoints;
    private readonly Random _random;
    private readonly TimeSpan _checkBudget;
    private readonly List<KvStoreClient> _clients = [];
    private long _operationIndex = -1;
    private int _nextProcess = Clients;

    public RegisterWorkload(IReadOnlyList<string> endpoints, string historyPath, RunClock clock, int seed, TimeSpan checkBudget)
    {
        _endpoints = endpoints;
        _random = new Random(seed);
        _checkBudget = checkBudget;
        History = new HistoryRecorder(historyPath, Name, clock);
    }

    public string Name => "register";

    public HistoryRecorder History { get; }

    private int KeysUsed => (int)(Interlocked.Read(ref _operationIndex) / OperationsPerKey) + 1;

    public async Task RunClientsAsync(CancellationToken cancellationToken)
    {
        var workers = new List<Task>();
        for (int i = 0; i < Clients; i++)
        {
            var client = NewClient();
            _clients.Add(client);
            int seed;
            lock (_random)
            {
                seed = _random.Next();
            }

            int process = i;
            workers.Add(Task.Run(() => WorkerAsync(client, process, new Random(seed), cancellationToken), CancellationToken.None));
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
    }

    public async Task FinalReadsAsync(CancellationToken cancellationToken)
    {
        await using KvStoreClient client = NewClient();
        int process = Interlocked.Increment(ref _nextProcess);
        for (int key = 0; key < KeysUsed; key++)
        {
            // Retried until it answers: a final read that never happens checks nothing.
            for (int attempt = 0; attempt < 10 && !cancellationToken.IsCancellationRequested; attempt++)
            {
                if (await ReadAsync(client, process, Key(key)).ConfigureAwait(false))
                {
                    break;
                }

                await Task.Delay(500, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public IReadOnlyList<CheckerResult> Check() => [CheckOne()];

    private CheckerResult CheckOne()
    {
        History.Dispose();
        HistoryFile history = HistoryFile.Read(History.Path, HistoryFormat.JsonLines);
        CheckResult result = ModelCatalog.Check("cas-register", history.Operations, new CheckBudget(_checkBudget));
        var explanation = new StringWriter(CultureInfo.InvariantCulture);
        CheckReportWriter.Write(result, explanation);
        CheckerVerdict verdict = result.Verdict switch
        {
            Verdict.Linearizable => CheckerVerdict.Valid,
            Verdict.NotLinearizable => CheckerVerdict.Invalid,
            _ => CheckerVerdict.Unknown,
        };
        IReadOnlyList<OperationRecord> ops = History.Operations;
        return new CheckerResult(
            "register (linearizable, cas-register per key)",
            verdict,
            $"{result.Partitions.Count} keys, {history.Operations.Count} operations, {CheckReportWriter.Name(result.Verdict)} in {result.Elapsed.TotalSeconds:0.00} s",
            new Dictionary<string, object>
            {
                ["keys"] = result.Partitions.Count,
                ["operations"] = history.Operations.Count,
                ["ok"] = ops.Count(o => o.Outcome == OperationOutcome.Ok),
                ["fail"] = ops.Count(o => o.Outcome == OperationOutcome.Fail),
                ["info"] = ops.Count(o => o.Outcome == OperationOutcome.Info),
                ["checkSeconds"] = Math.Round(result.Elapsed.TotalSeconds, 3),
                ["explanation"] = explanation.ToString(),
            });
    }

    public async ValueTask DisposeAsync()
    {
        foreach (KvStoreClient client in _clients)
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }

        History.Dispose();
    }

    private static string Key(long index) => $"register/{index}";

    private KvStoreClient NewClient() => new(new KvStoreClientOptions { Endpoints = [.. _endpoints], RequestTimeout = OperationTimeout });

    private async Task WorkerAsync(KvStoreClient client, int process, Random random, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            string key = Key(Interlocked.Increment(ref _operationIndex) / OperationsPerKey);
            bool determinate = true;
            switch (random.Next(3))
            {
                case 0:
                    // A read that fails changed nothing: the process stays usable either way.
                    await ReadAsync(client, process, key).ConfigureAwait(false);
                    break;
                case 1:
                    determinate = await WriteAsync(client, process, key, random.Next(Values)).ConfigureAwait(false);
                    break;
                default:
                    determinate = await CasAsync(client, process, key, random.Next(Values), random.Next(Values)).ConfigureAwait(false);
                    break;
            }

            if (!determinate)
            {
                // After an :info the process may still have an operation in flight: use a new one, as Jepsen does.
                process = Interlocked.Increment(ref _nextProcess);
            }
        }
    }

    /// <summary>Returns whether the read answered.</summary>
    private async Task<bool> ReadAsync(KvStoreClient client, int process, string key)
    {
        long invoked = History.Invoke(process, "read", key, HistoryRecorder.Null);
        using var timeout = new CancellationTokenSource(OperationTimeout);
        try
        {
            KvPair? kv = await client.GetAsync(key, cancellationToken: timeout.Token).ConfigureAwait(false);
            long? value = kv is null ? null : long.Parse(kv.ValueString, CultureInfo.InvariantCulture);
            History.Complete(process, "read", key, invoked, OperationOutcome.Ok, w =>
            {
                if (value is { } v)
                {
                    w.WriteNumberValue(v);
                }
                else
                {
                    w.WriteNullValue();
                }
            });
            return true;
        }
        catch (Exception ex) when (ex is KvStoreException or OperationCanceledException or IOException)
        {
            History.Complete(process, "read", key, invoked, OperationOutcome.Fail, HistoryRecorder.Null, $"{ex.GetType().Name}: {ex.Message}");
            return false;
        }
    }

    /// <summary>Returns false when the outcome is unknown.</summary>
    private async Task<bool> WriteAsync(KvStoreClient client, int process, string key, int value)
    {
        long invoked = History.Invoke(process, "write", key, w => w.WriteNumberValue(value));
        using var timeout = new CancellationTokenSource(OperationTimeout);
        try
        {
            await client.PutAsync(key, value.ToString(CultureInfo.InvariantCulture), cancellationToken: timeout.Token).ConfigureAwait(false);
            History.Complete(process, "write", key, invoked, OperationOutcome.Ok, w => w.WriteNumberValue(value));
            return true;
        }
        catch (Exception ex) when (ex is KvStoreException or OperationCanceledException or IOException)
        {
            History.Complete(process, "write", key, invoked, OperationOutcome.Info, HistoryRecorder.Null, $"{ex.GetType().Name}: {ex.Message}");
            return false;
        }
    }

    /// <summary>Returns false when the outcome is unknown.</summary>
    private async Task<bool> CasAsync(KvStoreClient client, int process, string key, int expected, int replacement)
    {
        void Pair(System.Text.Json.Utf8JsonWriter w)
        {
            w.WriteStartArray();
            w.WriteNumberValue(expected);
            w.WriteNumberValue(replacement);
            w.WriteEndArray();
        }

        long invoked = History.Invoke(process, "cas", key, Pair);
        using var timeout = new CancellationTokenSource(OperationTimeout);
        try
        {
            TxnResult result = await client.Txn()
                .If(Cmp.Value(key) == expected.ToString(CultureInfo.InvariantCulture))
                .Then(Op.Put(key, replacement.ToString(CultureInfo.InvariantCulture)))
                .CommitAsync(timeout.Token).ConfigureAwait(false);
            History.Complete(process, "cas", key, invoked, result.Succeeded ? OperationOutcome.Ok : OperationOutcome.Fail, Pair);
            return true;
        }
        catch (Exception ex) when (ex is KvStoreException or OperationCanceledException or IOException)
        {
            History.Complete(process, "cas", key, invoked, OperationOutcome.Info, HistoryRecorder.Null, $"{ex.GetType().Name}: {ex.Message}");
            return false;
        }
    }
}
