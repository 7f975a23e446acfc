using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using HdrHistogram;

namespace KvStore.Server.Cli.Bench;

/// <summary>
/// The watch fan-out benchmark (issue 5, section 7): W watchers, each on one of K keys, and an
/// open-loop writer putting to those keys round-robin at a fixed rate, so each write is delivered
/// to W/K watchers. Delivery latency = from the moment the put is issued (its value carries the
/// issuing timestamp; writer and watchers share this process's clock) to the moment a watcher's
/// stream hands over the event — commit, apply and fan-out included. Each stream records into its
/// own HdrHistogram, merged at the end; writes issued during the warm-up are not measured.
/// </summary>
internal sealed class WatchFanOutBench(WatchBenchSettings settings, IWatchBenchTarget target, TextWriter progress)
{
    private const long HighestTrackableMicroseconds = 60_000_000;
    private const int MaxWritesInFlight = 512;

    public async Task<WatchBenchReport> RunAsync(CancellationToken cancellationToken)
    {
        byte[][] keys = Enumerable.Range(0, settings.Keys).Select(k => Encoding.UTF8.GetBytes($"bench/watch/{k:D6}")).ToArray();
        byte[][] watched = Enumerable.Range(0, settings.Watchers).Select(j => keys[j % keys.Length]).ToArray();
        int[] watchersPerKey = new int[keys.Length];
        for (int j = 0; j < settings.Watchers; j++)
        {
            watchersPerKey[j % keys.Length]++;
        }

        var acks = new LongHistogram(HighestTrackableMicroseconds, 3);
        var histograms = Enumerable.Range(0, settings.Streams).Select(_ => new LongHistogram(HighestTrackableMicroseconds, 3)).ToArray();
        long measureFrom = long.MaxValue;
        long received = 0;
        void OnEvent(int stream, ReadOnlyMemory<byte> value)
        {
            long now = Stopwatch.GetTimestamp();
            if (value.Length < 8)
            {
                return;
            }

            long issued = BinaryPrimitives.ReadInt64LittleEndian(value.Span);
            if (issued >= Volatile.Read(ref measureFrom))
            {
                histograms[stream].RecordValue(Math.Min(HighestTrackableMicroseconds, (now - issued) * 1_000_000 / Stopwatch.Frequency));
                Interlocked.Increment(ref received);
            }
        }

        var setup = Stopwatch.StartNew();
        progress.WriteLine($"creating {settings.Watchers} watchers on {settings.Keys} keys over {settings.Streams} streams...");
        await target.StartWatchersAsync(watched, settings.Streams, OnEvent, cancellationToken).ConfigureAwait(false);
        TimeSpan setupTime = setup.Elapsed;
        progress.WriteLine($"watchers ready in {setupTime.TotalSeconds:0.0} s; writing {settings.Rate}/s for {settings.Warmup.TotalSeconds:0} s warm-up + {settings.Duration.TotalSeconds:0} s");

        long expected = 0;
        long writes = 0;
        long errors = 0;
        string? firstError = null;
        using var slots = new SemaphoreSlim(MaxWritesInFlight);
        var inFlight = new List<Task>();
        long start = Stopwatch.GetTimestamp();
        long warmupEnd = start + (long)(settings.Warmup.TotalSeconds * Stopwatch.Frequency);
        long end = warmupEnd + (long)(settings.Duration.TotalSeconds * Stopwatch.Frequency);
        Volatile.Write(ref measureFrom, warmupEnd);
        long issuedCount = 0;
        while (true)
        {
            long now = Stopwatch.GetTimestamp();
            if (now >= end)
            {
                break;
            }

            long due = (long)((now - start) * (double)settings.Rate / Stopwatch.Frequency);
            for (; issuedCount < due; issuedCount++)
            {
                await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                int key = (int)(issuedCount % keys.Length);
                byte[] value = new byte[Math.Max(8, settings.ValueSize)];
                long issued = Stopwatch.GetTimestamp();
                BinaryPrimitives.WriteInt64LittleEndian(value, issued);
                bool measured = issued >= warmupEnd;
                inFlight.Add(Write(keys[key], value, issued, measured ? watchersPerKey[key] : 0));
            }

            inFlight.RemoveAll(t => t.IsCompleted);
            await Task.Delay(1, cancellationToken).ConfigureAwait(false);
        }

        await Task.WhenAll(inFlight).ConfigureAwait(false);

        // Deliveries still under way get a few seconds; what has not arrived by then counts as missing.
        var drain = Stopwatch.StartNew();
        while (Interlocked.Read(ref received) < Interlocked.Read(ref expected) && drain.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }

        var merged = new LongHistogram(HighestTrackableMicroseconds, 3);
        foreach (LongHistogram h in histograms)
        {
            merged.Add(h);
        }

        return WatchBenchReport.From(settings, merged, acks, Interlocked.Read(ref writes), Interlocked.Read(ref expected), Interlocked.Read(ref received), Interlocked.Read(ref errors), firstError, setupTime);

        async Task Write(byte[] key, byte[] value, long issued, int deliveries)
        {
            try
            {
                await target.PutAsync(key, value, cancellationToken).ConfigureAwait(false);
                if (deliveries > 0)
                {
                    long ackUs = (Stopwatch.GetTimestamp() - issued) * 1_000_000 / Stopwatch.Frequency;
                    lock (acks)
                    {
                        acks.RecordValue(Math.Min(HighestTrackableMicroseconds, ackUs));
                    }

                    Interlocked.Increment(ref writes);
                    Interlocked.Add(ref expected, deliveries);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Interlocked.Increment(ref errors);
                Interlocked.CompareExchange(ref firstError, ex.Message, null);
            }
            finally
            {
                slots.Release();
            }
        }
    }
}

/// <summary>Settings of `kvstore bench watch`.</summary>
internal sealed record WatchBenchSettings
{
    public required string Target { get; init; }

    public required IReadOnlyList<string> Endpoints { get; init; }

    public int Watchers { get; init; } = 10_000;

    public int Keys { get; init; } = 1_000;

    public int Rate { get; init; } = 1_000;

    public int Streams { get; init; } = 16;

    public int ValueSize { get; init; } = 64;

    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(3);

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(20);
}

/// <summary>The outcome of a watch fan-out run: deliveries and their latency percentiles (microseconds).</summary>
internal sealed record WatchBenchReport(
    WatchBenchSettings Settings,
    long Writes,
    long ExpectedDeliveries,
    long Deliveries,
    long WriteErrors,
    string? FirstError,
    TimeSpan SetupTime,
    double P50Us,
    double P90Us,
    double P99Us,
    double P999Us,
    double MaxUs,
    double AckP50Us,
    double AckP99Us)
{
    public static WatchBenchReport From(WatchBenchSettings settings, HistogramBase latencies, HistogramBase acks, long writes, long expected, long delivered, long errors, string? firstError, TimeSpan setup)
    {
        double Percentile(double p) => latencies.TotalCount == 0 ? 0 : latencies.GetValueAtPercentile(p);
        double Ack(double p) => acks.TotalCount == 0 ? 0 : acks.GetValueAtPercentile(p);
        return new WatchBenchReport(settings, writes, expected, delivered, errors, firstError, setup,
            Percentile(50), Percentile(90), Percentile(99), Percentile(99.9), latencies.TotalCount == 0 ? 0 : latencies.GetMaxValue(), Ack(50), Ack(99));
    }

    public string ToText()
    {
        static string Ms(double us) => (us / 1000).ToString("0.000", CultureInfo.InvariantCulture);
        static string N(long n) => n.ToString(CultureInfo.InvariantCulture);
        var s = Settings;
        var lines = new List<string>
        {
            $"target {s.Target}, watch fan-out: {N(s.Watchers)} watchers on {N(s.Keys)} keys over {N(s.Streams)} streams, {N(s.Rate)} writes/s, {N(s.ValueSize)}-byte values",
            $"writes      {N(Writes)} measured in {s.Duration.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s, write errors {N(WriteErrors)}",
            $"deliveries  {N(Deliveries)} of {N(ExpectedDeliveries)} expected ({(Deliveries / Math.Max(1.0, s.Duration.TotalSeconds)).ToString("0", CultureInfo.InvariantCulture)}/s)",
            $"latency ms  p50 {Ms(P50Us)}  p90 {Ms(P90Us)}  p99 {Ms(P99Us)}  p99.9 {Ms(P999Us)}  max {Ms(MaxUs)}",
            $"write ack   p50 {Ms(AckP50Us)}  p99 {Ms(AckP99Us)} (issue to acknowledgement, for comparison)",
            $"setup       {SetupTime.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s to create the watchers",
        };
        if (FirstError is not null)
        {
            lines.Add($"first error {FirstError}");
        }

        return string.Join(Environment.NewLine, lines);
    }

    public string ToJson() => JsonSerializer.Serialize(new
    {
        target = Settings.Target,
        workload = "watch",
        watchers = Settings.Watchers,
        keys = Settings.Keys,
        streams = Settings.Streams,
        rate = Settings.Rate,
        writes = Writes,
        expected_deliveries = ExpectedDeliveries,
        deliveries = Deliveries,
        write_errors = WriteErrors,
        p50_us = P50Us,
        p90_us = P90Us,
        p99_us = P99Us,
        p999_us = P999Us,
        max_us = MaxUs,
        ack_p50_us = AckP50Us,
        ack_p99_us = AckP99Us,
        first_error = FirstError,
    });
}
