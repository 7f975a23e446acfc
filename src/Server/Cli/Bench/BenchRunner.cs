using System.Diagnostics;
using System.Globalization;
using HdrHistogram;
using KvStore.Client;

namespace KvStore.Server.Cli.Bench;

/// <summary>
/// Runs a workload: N client loops, each with one request outstanding (closed loop, like etcd's
/// benchmark tool), each recording its latencies in its own HdrHistogram (merged at the end, so
/// recording never contends), and a progress line on stderr once a second.
/// </summary>
internal sealed class BenchRunner
{
    /// <summary>Latencies are recorded in microseconds up to one minute, three significant digits.</summary>
    private const long HighestTrackableMicroseconds = 60_000_000;

    private readonly BenchSettings _settings;
    private readonly IBenchDriver _driver;
    private readonly TextWriter _progress;
    private long _completed;
    private long _errors;
    private long _swapped;
    private string? _firstError;

    public BenchRunner(BenchSettings settings, IBenchDriver driver, TextWriter progress)
    {
        _settings = settings;
        _driver = driver;
        _progress = progress;
    }

    /// <summary>Writes the keys a get or cas workload reads, so that reads find values. Not measured.</summary>
    public async Task PreloadAsync(CancellationToken cancellationToken)
    {
        var value = Value(0);
        int next = -1;
        var loaders = Enumerable.Range(0, Math.Min(64, _settings.KeySpace)).Select(async loader =>
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < _settings.KeySpace)
            {
                await _driver.PutAsync(loader % _settings.Connections, _settings.Key(index), value, cancellationToken).ConfigureAwait(false);
            }
        });
        await Task.WhenAll(loaders).ConfigureAwait(false);
    }

    public async Task<BenchReport> RunAsync(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (_settings.Total == 0)
        {
            stop.CancelAfter(_settings.Duration);
        }

        var clock = Stopwatch.StartNew();
        var histograms = Enumerable.Range(0, _settings.Clients).Select(_ => new LongHistogram(HighestTrackableMicroseconds, 3)).ToArray();
        var clients = Enumerable.Range(0, _settings.Clients).Select(i => Task.Run(() => ClientLoopAsync(i, histograms[i], stop.Token), CancellationToken.None)).ToArray();
        var progress = ProgressLoopAsync(clock, stop.Token);
        await Task.WhenAll(clients).ConfigureAwait(false);
        var elapsed = clock.Elapsed;
        await stop.CancelAsync().ConfigureAwait(false);
        await progress.ConfigureAwait(false);
        _progress.WriteLine();
        cancellationToken.ThrowIfCancellationRequested();

        var merged = new LongHistogram(HighestTrackableMicroseconds, 3);
        foreach (var histogram in histograms)
        {
            merged.Add(histogram);
        }

        return BenchReport.From(_settings, merged, Interlocked.Read(ref _errors), Interlocked.Read(ref _swapped), elapsed, _firstError);
    }

    private async Task ClientLoopAsync(int client, LongHistogram latencies, CancellationToken stop)
    {
        int connection = client % _settings.Connections;
        var random = new Random(client * 7919 + 1);
        var value = Value(client);
        var seen = new Dictionary<int, long>();
        while (!stop.IsCancellationRequested)
        {
            if (_settings.Total > 0 && Interlocked.Increment(ref _completed) > _settings.Total)
            {
                return;
            }

            int index = random.Next(_settings.KeySpace);
            byte[] key = _settings.Key(index);
            long start = Stopwatch.GetTimestamp();
            try
            {
                switch (_settings.Workload)
                {
                    case BenchWorkload.Put:
                        await _driver.PutAsync(connection, key, value, stop).ConfigureAwait(false);
                        break;
                    case BenchWorkload.Get:
                        await _driver.GetAsync(connection, key, _settings.Serializable, stop).ConfigureAwait(false);
                        break;
                    case BenchWorkload.Cas:
                        var (swapped, modRevision) = await _driver.CompareAndSwapAsync(connection, key, seen.GetValueOrDefault(index), value, stop).ConfigureAwait(false);
                        seen[index] = modRevision;
                        if (swapped)
                        {
                            Interlocked.Increment(ref _swapped);
                        }

                        break;
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The run's time is up: this last request is not counted.
                return;
            }
            catch (Exception ex) when (ex is KvStoreException || EtcdBenchDriver.IsServiceError(ex))
            {
                Interlocked.Increment(ref _errors);
                Interlocked.CompareExchange(ref _firstError, ex.Message.ReplaceLineEndings(" "), null);
                continue;
            }

            latencies.RecordValue(Math.Min(HighestTrackableMicroseconds, (long)Stopwatch.GetElapsedTime(start).TotalMicroseconds));
            if (_settings.Total == 0)
            {
                Interlocked.Increment(ref _completed);
            }
        }
    }

    private async Task ProgressLoopAsync(Stopwatch clock, CancellationToken stop)
    {
        long last = 0;
        var lastTime = TimeSpan.Zero;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            long done = Math.Min(Interlocked.Read(ref _completed), _settings.Total > 0 ? _settings.Total : long.MaxValue);
            var now = clock.Elapsed;
            double rate = (done - last) / Math.Max(0.001, (now - lastTime).TotalSeconds);
            (last, lastTime) = (done, now);
            string goal = _settings.Total > 0
                ? $"{done.ToString(CultureInfo.InvariantCulture)}/{_settings.Total.ToString(CultureInfo.InvariantCulture)} ops"
                : $"{now.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)}/{_settings.Duration.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s, {done.ToString(CultureInfo.InvariantCulture)} ops";
            _progress.Write($"\r{_settings.Target} {_settings.Workload.ToString().ToLowerInvariant()}: {goal}, {rate.ToString("0", CultureInfo.InvariantCulture)} ops/s, errors {Interlocked.Read(ref _errors).ToString(CultureInfo.InvariantCulture)}   ");
        }
    }

    private byte[] Value(int seed)
    {
        var value = new byte[_settings.ValueSize];
        var random = new Random(seed);
        for (int i = 0; i < value.Length; i++)
        {
            value[i] = (byte)('a' + random.Next(26));
        }

        return value;
    }
}
