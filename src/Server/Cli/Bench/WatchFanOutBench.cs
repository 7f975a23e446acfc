using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
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
