using System.Diagnostics;
using System.Globalization;
using System.Text;
using HdrHistogram;
using KvStore.Storage.IO;
using KvStore.Storage.Log;

namespace KvStore.Benchmarks.LogStore;

/// <summary>
/// Side-by-side benchmark of the two Raft log stores on the real disk: append+sync throughput and
/// latency under group commit with 1, 16 and 256 concurrent appenders and 100 B / 1 KiB entries, the
/// machine's raw fsync latency for reference, and recovery (reopen) time of a large log.
/// Usage: <c>logstore [--quick] [--dir PATH] [--seconds N] [--recovery-mib N] [--repeat N]</c>. Prints markdown.
/// </summary>
public static class LogStoreBench
{
    private static readonly int[] AppenderCounts = [1, 16, 256];
    private static readonly int[] EntrySizes = [100, 1024];

    public static int Run(string[] args)
    {
        bool quick = args.Contains("--quick");
        string root = Option(args, "--dir") ?? Path.Combine(Path.GetTempPath(), $"kvstore-logstore-bench-{Environment.ProcessId}");
        double seconds = double.Parse(Option(args, "--seconds") ?? (quick ? "0.5" : "3"), CultureInfo.InvariantCulture);
        long recoveryBytes = long.Parse(Option(args, "--recovery-mib") ?? (quick ? "32" : "1024"), CultureInfo.InvariantCulture) << 20;
        int repetitions = int.Parse(Option(args, "--repeat") ?? (quick ? "1" : "3"), CultureInfo.InvariantCulture);
        Directory.CreateDirectory(root);
        try
        {
            var report = new StringBuilder();
            report.AppendLine(CultureInfo.InvariantCulture, $"Raft log store benchmark ({(quick ? "quick" : "full")} mode, {seconds:0.#} s per cell, {Environment.ProcessorCount} cores, directory {root})");
            report.AppendLine();
            var (fsyncP50, fsyncP99) = MeasureRawFsync(root, quick ? 300 : 2000);
            report.AppendLine(CultureInfo.InvariantCulture, $"Raw append 100 B + fsync on this disk: p50 {fsyncP50:0.###} ms, p99 {fsyncP99:0.###} ms");
            report.AppendLine();
            // Cells are repeated and the stores alternate within each repetition, so both see the same
            // background load; the median run (by throughput) is reported with the spread of all runs.
            report.AppendLine(CultureInfo.InvariantCulture, $"Append+sync, median of {repetitions} alternating runs per cell:");
            report.AppendLine();
            report.AppendLine("| store | entry | appenders | appends/s | (min-max) | MB/s | p50 ms | p99 ms | appends per sync |");
            report.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            var stores = Stores().ToList();
            foreach (int size in EntrySizes)
            {
                foreach (int appenders in AppenderCounts)
                {
                    var runs = stores.ToDictionary(s => s.Name, _ => new List<ThroughputResult>());
                    for (int rep = 0; rep < repetitions; rep++)
                    {
                        foreach (var (name, open) in stores)
                        {
                            string dir = Path.Combine(root, $"{name}-{size}-{appenders}-{rep}");
                            runs[name].Add(MeasureThroughput(open, dir, appenders, size, TimeSpan.FromSeconds(seconds)));
                            Directory.Delete(dir, recursive: true);
                        }
                    }

                    foreach (var (name, results) in runs)
                    {
                        results.Sort((a, b) => a.AppendsPerSecond.CompareTo(b.AppendsPerSecond));
                        ThroughputResult r = results[results.Count / 2];
                        report.AppendLine(CultureInfo.InvariantCulture,
                            $"| {name} | {size} B | {appenders} | {r.AppendsPerSecond:N0} | {results[0].AppendsPerSecond:N0}-{results[^1].AppendsPerSecond:N0} | {r.AppendsPerSecond * size / 1e6:0.0} | {r.P50Ms:0.###} | {r.P99Ms:0.###} | {r.AppendsPerSync:0.0} |");
                        Console.Error.WriteLine($"{name} {size} B x{appenders}: {r.AppendsPerSecond:N0}/s");
                    }
                }
            }

            report.AppendLine();
            report.AppendLine(CultureInfo.InvariantCulture, $"Recovery, {repetitions} alternating runs:");
            report.AppendLine();
            report.AppendLine("| store | log size | entries | reopen (recovery) s | recovery MB/s |");
            report.AppendLine("|---|---:|---:|---:|---:|");
            for (int rep = 0; rep < repetitions; rep++)
            {
                foreach (var (name, open) in stores)
                {
                    string dir = Path.Combine(root, $"{name}-recovery");
                    var (entries, bytes, elapsed) = MeasureRecovery(open, dir, recoveryBytes);
                    Directory.Delete(dir, recursive: true);
                    report.AppendLine(CultureInfo.InvariantCulture,
                        $"| {name} | {bytes / (1 << 20)} MiB | {entries:N0} | {elapsed.TotalSeconds:0.00} | {bytes / 1e6 / elapsed.TotalSeconds:0} |");
                    Console.Error.WriteLine($"{name} recovery of {bytes >> 20} MiB: {elapsed.TotalSeconds:0.00} s");
                }
            }

            Console.WriteLine(report.ToString());
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static IEnumerable<(string Name, Func<string, IRaftLogStore> Open)> Stores() =>
    [
        ("segmented", dir => SegmentedLogStore.Open(PhysicalFileSystem.Instance, dir)),
        ("fasterlog", dir => FasterLogStore.Open(dir)),
    ];

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static (double P50Ms, double P99Ms) MeasureRawFsync(string root, int count)
    {
        string path = Path.Combine(root, "fsync-probe");
        var histogram = new LongHistogram(TimeSpan.FromSeconds(60).Ticks / 10, 3);
        var data = new byte[100];
        using (IStorageFile file = PhysicalFileSystem.Instance.Open(path, OpenMode.CreateTruncate))
        {
            for (int i = 0; i < count; i++)
            {
                long start = Stopwatch.GetTimestamp();
                file.Write(i * 100L, data);
                file.Sync();
                histogram.RecordValue(Math.Max(1, (long)Stopwatch.GetElapsedTime(start).TotalMicroseconds));
            }
        }

        File.Delete(path);
        return (histogram.GetValueAtPercentile(50) / 1000.0, histogram.GetValueAtPercentile(99) / 1000.0);
    }

    private static ThroughputResult MeasureThroughput(Func<string, IRaftLogStore> open, string dir, int appenders, int size, TimeSpan duration)
    {
        using IRaftLogStore store = open(dir);
        using var writer = new GroupCommitWriter(store);
        using var stop = new CancellationTokenSource();
        var payload = new byte[size];
        Random.Shared.NextBytes(payload);
        Task[] tasks = [.. Enumerable.Range(0, appenders).Select(a => Task.Run(async () =>
        {
            ulong group = (ulong)a + 1;
            for (long index = 1; !stop.IsCancellationRequested; index++)
            {
                await writer.AppendAsync(group, new LogEntry(index, 1, 0, payload));
            }
        }))];

        Thread.Sleep(TimeSpan.FromMilliseconds(Math.Min(500, duration.TotalMilliseconds / 4)));
        writer.ResetCounters();
        var clock = Stopwatch.StartNew();
        Thread.Sleep(duration);
        stop.Cancel();
        Task.WaitAll(tasks);
        double elapsed = clock.Elapsed.TotalSeconds;
        writer.Dispose();
        LongHistogram latencies = writer.Latencies;
        return new ThroughputResult(
            writer.Completed / elapsed,
            latencies.GetValueAtPercentile(50) / 1000.0,
            latencies.GetValueAtPercentile(99) / 1000.0,
            writer.Syncs == 0 ? 0 : (double)writer.Completed / writer.Syncs);
    }

    /// <summary>Writes about <paramref name="targetBytes"/> of 1 KiB entries across 16 groups, closes, and times the reopen.</summary>
    private static (long Entries, long Bytes, TimeSpan Elapsed) MeasureRecovery(Func<string, IRaftLogStore> open, string dir, long targetBytes)
    {
        const int groups = 16;
        const int batch = 32;
        var payload = new byte[1024];
        Random.Shared.NextBytes(payload);
        long entries = 0;
        long bytes = 0;
        var next = new long[groups + 1];
        var buffer = new LogEntry[batch];
        using (IRaftLogStore store = open(dir))
        {
            for (int round = 0; bytes < targetBytes; round++)
            {
                ulong group = (ulong)(round % groups) + 1;
                for (int i = 0; i < batch; i++)
                {
                    buffer[i] = new LogEntry(++next[group], 1, 0, payload);
                }

                store.Append(group, buffer);
                entries += batch;
                bytes += batch * (payload.Length + 13L);
                if (round % 128 == 127)
                {
                    store.Sync();
                }
            }

            store.Sync();
        }

        var clock = Stopwatch.StartNew();
        using IRaftLogStore reopened = open(dir);
        TimeSpan elapsed = clock.Elapsed;
        long recovered = reopened.Groups.Sum(g => reopened.LastIndex(g));
        if (recovered != entries)
        {
            throw new InvalidOperationException($"recovered {recovered} entries of {entries}");
        }

        return (entries, bytes, elapsed);
    }

    private sealed record ThroughputResult(double AppendsPerSecond, double P50Ms, double P99Ms, double AppendsPerSync);
}
