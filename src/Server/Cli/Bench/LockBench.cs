using System.Diagnostics;
using System.Globalization;
using HdrHistogram;

namespace KvStore.Server.Cli.Bench;

/// <summary>
/// Lock contention: every client holds a lease of its own and loops "lock NAME, unlock" on ONE
/// lock name, so the lock passes from client to client. Measures acquire/release cycles per
/// second, the hand-off latency (from the moment a holder sends its unlock until the next holder's
/// lock call returns — what a queue of waiters pays per turn) and each acquisition's wait.
/// </summary>
internal sealed class LockBench(ICoordinationBenchDriver driver, int clients, int connections, TimeSpan duration, TextWriter progress)
{
    private const long HighestTrackableMicroseconds = 60_000_000;
    private static readonly byte[] Name = "bench/lock"u8.ToArray();

    private readonly object _record = new();
    private readonly LongHistogram _handOff = new(HighestTrackableMicroseconds, 3);
    private readonly LongHistogram _acquire = new(HighestTrackableMicroseconds, 3);
    private long _releaseStartedAt;
    private long _cycles;
    private long _errors;
    private int _holders;
    private int _maxHolders;
    private string? _firstError;

    public async Task<LockBenchReport> RunAsync(CancellationToken cancellationToken)
    {
        long[] leases = await Task.WhenAll(Enumerable.Range(0, clients).Select(c => driver.GrantLeaseAsync(c % connections, 60, keepAlive: true, cancellationToken))).ConfigureAwait(false);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(duration);
        var clock = Stopwatch.StartNew();
        Task[] loops = Enumerable.Range(0, clients).Select(c => Task.Run(() => ClientLoopAsync(c, leases[c], stop.Token), CancellationToken.None)).ToArray();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            progress.Write($"\rlock: {clock.Elapsed.TotalSeconds:0}/{duration.TotalSeconds:0} s, {Interlocked.Read(ref _cycles)} cycles, errors {Interlocked.Read(ref _errors)}   ");
        }

        await Task.WhenAll(loops).ConfigureAwait(false);
        TimeSpan elapsed = clock.Elapsed;
        progress.WriteLine();
        cancellationToken.ThrowIfCancellationRequested();
        return new LockBenchReport(clients, connections, Interlocked.Read(ref _cycles), Interlocked.Read(ref _errors), elapsed, _maxHolders, _handOff, _acquire, _firstError);
    }

    private async Task ClientLoopAsync(int client, long lease, CancellationToken stop)
    {
        int connection = client % connections;
        while (!stop.IsCancellationRequested)
        {
            long asked = Stopwatch.GetTimestamp();
            byte[] key;
            try
            {
                key = await driver.LockAsync(connection, Name, lease, stop).ConfigureAwait(false);
            }
            catch (Exception ex) when (stop.IsCancellationRequested && ex is OperationCanceledException or Grpc.Core.RpcException)
            {
                // Time is up while waiting: the waiter's place is abandoned with the run.
                return;
            }
            catch (Exception ex) when (ex is KvStore.Client.KvStoreException || EtcdBenchDriver.IsServiceError(ex))
            {
                Failed(ex);
                continue;
            }

            long granted = Stopwatch.GetTimestamp();
            int holders = Interlocked.Increment(ref _holders);
            lock (_record)
            {
                // Under the lock, the previous holder's release is the last one recorded.
                _maxHolders = Math.Max(_maxHolders, holders);
                long released = Volatile.Read(ref _releaseStartedAt);
                if (released != 0)
                {
                    _handOff.RecordValue(Micros(released, granted));
                }

                _acquire.RecordValue(Micros(asked, granted));
            }

            Interlocked.Decrement(ref _holders);
            Volatile.Write(ref _releaseStartedAt, Stopwatch.GetTimestamp());
            try
            {
                // The unlock always completes (not cancelled by the end of the run), so no holder is left behind.
                await driver.UnlockAsync(connection, key, CancellationToken.None).ConfigureAwait(false);
                Interlocked.Increment(ref _cycles);
            }
            catch (Exception ex) when (ex is KvStore.Client.KvStoreException || EtcdBenchDriver.IsServiceError(ex))
            {
                Failed(ex);
            }
        }
    }

    private void Failed(Exception ex)
    {
        Interlocked.Increment(ref _errors);
        Interlocked.CompareExchange(ref _firstError, ex.Message.ReplaceLineEndings(" "), null);
    }

    private static long Micros(long from, long to) =>
        Math.Clamp((long)Stopwatch.GetElapsedTime(from, to).TotalMicroseconds, 0, HighestTrackableMicroseconds);
}

/// <summary>The outcome of a lock benchmark run.</summary>
internal sealed record LockBenchReport(int Clients, int Connections, long Cycles, long Errors, TimeSpan Elapsed, int MaxHolders, HistogramBase HandOff, HistogramBase Acquire, string? FirstError)
{
    public double CyclesPerSecond => Cycles / Elapsed.TotalSeconds;

    public string ToText(string target)
    {
        static string Ms(HistogramBase h, double p) => h.TotalCount == 0 ? "-" : (h.GetValueAtPercentile(p) / 1000.0).ToString("0.000", CultureInfo.InvariantCulture);
        var lines = new List<string>
        {
            $"target {target}, workload lock, {Clients} contending clients over {Connections} connections, one lock name",
            $"cycles      {Cycles} lock+unlock in {Elapsed.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)} s, errors {Errors}, max simultaneous holders {MaxHolders}",
            $"throughput  {CyclesPerSecond.ToString("0", CultureInfo.InvariantCulture)} cycles/s",
            $"hand-off ms p50 {Ms(HandOff, 50)}  p99 {Ms(HandOff, 99)}  max {Ms(HandOff, 100)}",
            $"acquire ms  p50 {Ms(Acquire, 50)}  p99 {Ms(Acquire, 99)}  max {Ms(Acquire, 100)}",
        };
        if (FirstError is not null)
        {
            lines.Add($"first error {FirstError}");
        }

        return string.Join(Environment.NewLine, lines);
    }
}
