using System.Diagnostics;
using HdrHistogram;
using KvStore.Raft.Core;
using KvStore.Raft.Host;
using KvStore.Storage.IO;
using KvStore.Storage.Log;

namespace KvStore.Benchmarks.Raft;

/// <summary>
/// Raft commit throughput and latency: an in-process 3-node cluster (three <see cref="RaftHost"/>s over
/// an <see cref="InMemoryTransport"/>), one group led by node 1, 128-byte entries, 1 / 64 / 1,024
/// concurrent proposers each awaiting its proposal before the next. Once with in-memory log stores,
/// once with <see cref="SegmentedLogStore"/> on the real disk (three stores, one per node, each syncing
/// once per host loop iteration). A commit is counted when the leader has applied the entry and
/// completed the proposer's task. Verb: <c>raft [--quick] [--dir PATH]</c>.
/// </summary>
public static class RaftBench
{
    private const int EntryBytes = 128;
    private const ulong Group = 1;

    public static int Run(string[] args)
    {
        bool quick = args.Contains("--quick");
        int dirAt = Array.IndexOf(args, "--dir");
        string root = dirAt >= 0 && dirAt + 1 < args.Length ? args[dirAt + 1] : Path.Combine(Path.GetTempPath(), "kvstore-raft-bench");
        var measure = quick ? TimeSpan.FromSeconds(3) : TimeSpan.FromSeconds(10);
        var warmup = quick ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(3);

        Console.WriteLine($"# Raft benchmark ({(quick ? "quick" : "full")}): 3 nodes in one process, {EntryBytes}-byte entries, {measure.TotalSeconds:F0} s per run after {warmup.TotalSeconds:F0} s warm-up");
        Console.WriteLine($"# {Environment.ProcessorCount} cores, .NET {Environment.Version}, disk dir {root}");
        foreach (bool append in new[] { true, false })
        {
            var fsync = MeasureFsync(root, quick ? 200 : 1000, append);
            Console.WriteLine($"raw fsync ({(append ? "append" : "overwrite")} {EntryBytes} B + Sync, {fsync.TotalCount} samples): " +
                              $"p50 {Us(fsync.GetValueAtPercentile(50))} p99 {Us(fsync.GetValueAtPercentile(99))}");
        }

        Console.WriteLine();
        Console.WriteLine("| log store | proposers | commits/s | p50 latency | p99 latency | syncs/s (leader) | CPU µs/commit (3 nodes) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (string store in new[] { "memory", "disk" })
        {
            foreach (int proposers in new[] { 1, 64, 1024 })
            {
                var result = RunCluster(store, proposers, root, warmup, measure);
                Console.WriteLine($"| {store} | {proposers:N0} | {result.CommitsPerSecond:N0} | {Us(result.Latency.GetValueAtPercentile(50))} | " +
                                  $"{Us(result.Latency.GetValueAtPercentile(99))} | {result.SyncsPerSecond:N0} | {result.CpuMicrosecondsPerCommit:F1} |");
            }
        }

        return 0;
    }

    private static string Us(long microseconds) => microseconds >= 10_000 ? $"{microseconds / 1000.0:F1} ms" : $"{microseconds} µs";

    /// <summary>
    /// One write plus one fsync, as the log store does per batch. Appending grows the file (a metadata
    /// update per sync); overwriting a block in place does not, which is what a preallocated log pays.
    /// </summary>
    private static LongHistogram MeasureFsync(string root, int samples, bool append)
    {
        Directory.CreateDirectory(root);
        string path = Path.Combine(root, "fsync-probe");
        var histogram = new LongHistogram(TimeSpan.FromSeconds(10).Ticks, 3);
        var fs = PhysicalFileSystem.Instance;
        var data = new byte[EntryBytes];
        using (var file = fs.Open(path, OpenMode.CreateTruncate))
        {
            for (int i = 0; i < samples; i++)
            {
                long start = Stopwatch.GetTimestamp();
                if (append)
                {
                    file.Append(data);
                }
                else
                {
                    file.Write(0, data);
                }

                file.Sync();
                histogram.RecordValue((long)Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            }
        }

        fs.DeleteFile(path);
        return histogram;
    }

    private static RunResult RunCluster(string store, int proposers, string root, TimeSpan warmup, TimeSpan measure)
    {
        var transport = new InMemoryTransport();
        var hosts = new List<RaftHost>();
        var stores = new List<IRaftLogStore>();
        var endpoints = new List<IRaftTransport>();
        string runDir = Path.Combine(root, $"run-{store}-{proposers}");
        try
        {
            if (Directory.Exists(runDir))
            {
                Directory.Delete(runDir, recursive: true);
            }

            for (ulong id = 1; id <= 3; id++)
            {
                IRaftLogStore log;
                ISnapshotStore snapshots;
                if (store == "disk")
                {
                    string dir = Path.Combine(runDir, $"node{id}");
                    log = SegmentedLogStore.Open(PhysicalFileSystem.Instance, Path.Combine(dir, "log"));
                    snapshots = new FileSnapshotStore(PhysicalFileSystem.Instance, Path.Combine(dir, "snapshots"));
                }
                else
                {
                    log = new InMemoryRaftLogStore();
                    snapshots = new InMemorySnapshotStore();
                }

                var endpoint = transport.Connect(id);
                var host = new RaftHost(new RaftHostOptions
                {
                    NodeId = id,
                    TickInterval = TimeSpan.FromMilliseconds(10),
                    // Few snapshots: the benchmark measures replication, not snapshotting.
                    SnapshotEveryEntries = 200_000,
                    CompactionRetainEntries = 50_000,
                    ProposalTimeout = TimeSpan.FromSeconds(30),
                    GroupConfig = new RaftConfig { Id = id, ElectionTick = 100, HeartbeatTick = 10 },
                }, log, snapshots, endpoint);
                stores.Add(log);
                endpoints.Add(endpoint);
                hosts.Add(host);
                host.Start();
                host.AddGroupAsync(Group, [1, 2, 3], new CountingStateMachine()).GetAwaiter().GetResult();
            }

            var leader = hosts[0];
            leader.CampaignAsync(Group).GetAwaiter().GetResult();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (leader.GetStatus(Group).Role != RaftRole.Leader || leader.GetStatus(Group).Commit < 1)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException("node 1 did not become the leader");
                }

                Thread.Sleep(5);
            }

            return Drive(leader, stores[0], proposers, warmup, measure);
        }
        finally
        {
            foreach (var host in hosts)
            {
                host.Dispose();
            }

            foreach (var endpoint in endpoints)
            {
                endpoint.Dispose();
            }

            foreach (var log in stores)
            {
                log.Dispose();
            }

            if (Directory.Exists(runDir))
            {
                Directory.Delete(runDir, recursive: true);
            }
        }
    }

    private static RunResult Drive(RaftHost leader, IRaftLogStore leaderLog, int proposers, TimeSpan warmup, TimeSpan measure)
    {
        var payload = new byte[EntryBytes - 16];
        Random.Shared.NextBytes(payload);
        long measuring = 0;
        long stop = 0;
        var histograms = new LongHistogram[proposers];
        var counts = new long[proposers];
        var tasks = new Task[proposers];
        for (int p = 0; p < proposers; p++)
        {
            int me = p;
            histograms[me] = new LongHistogram(TimeSpan.FromSeconds(60).Ticks, 3);
            tasks[me] = Task.Run(async () =>
            {
                while (Volatile.Read(ref stop) == 0)
                {
                    long start = Stopwatch.GetTimestamp();
                    await leader.ProposeAsync(Group, payload).ConfigureAwait(false);
                    if (Volatile.Read(ref measuring) == 1)
                    {
                        histograms[me].RecordValue(Math.Max(1, (long)Stopwatch.GetElapsedTime(start).TotalMicroseconds));
                        counts[me]++;
                    }
                }
            });
        }

        Thread.Sleep(warmup);
        long syncsBefore = leaderLog.SyncCount;
        // Process CPU time per commit does not depend on how busy the machine is, unlike commits/s.
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        Volatile.Write(ref measuring, 1);
        Thread.Sleep(measure);
        Volatile.Write(ref measuring, 0);
        clock.Stop();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        long syncs = leaderLog.SyncCount - syncsBefore;
        Volatile.Write(ref stop, 1);
        Task.WaitAll(tasks, TimeSpan.FromSeconds(60));

        var latency = new LongHistogram(TimeSpan.FromSeconds(60).Ticks, 3);
        foreach (var h in histograms)
        {
            latency.Add(h);
        }

        double seconds = clock.Elapsed.TotalSeconds;
        long commits = Math.Max(1, counts.Sum());
        return new RunResult(commits / seconds, latency, syncs / seconds, cpu.TotalMicroseconds / commits);
    }

    private sealed record RunResult(double CommitsPerSecond, LongHistogram Latency, double SyncsPerSecond, double CpuMicrosecondsPerCommit);

    /// <summary>The cheapest useful state machine: counts applied commands (so apply cost does not hide Raft's).</summary>
    private sealed class CountingStateMachine : IStateMachine
    {
        private long _count;

        public long AppliedIndex { get; private set; }

        public IReadOnlyList<object?> Apply(IReadOnlyList<Entry> entries)
        {
            var results = new object?[entries.Count(e => e.Type == EntryType.Normal)];
            foreach (var e in entries)
            {
                if (e.Type == EntryType.Normal && !e.Data.IsEmpty)
                {
                    _count++;
                }

                AppliedIndex = e.Index;
            }

            return results;
        }

        public ReadOnlyMemory<byte> TakeSnapshot() => BitConverter.GetBytes(_count);

        public void Restore(Snapshot snapshot)
        {
            _count = snapshot.Data.Length == 8 ? BitConverter.ToInt64(snapshot.Data.Span) : 0;
            AppliedIndex = snapshot.Metadata.Index;
        }
    }
}
