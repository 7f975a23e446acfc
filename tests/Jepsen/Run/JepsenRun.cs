using KvStore.Jepsen.Cluster;
using KvStore.Jepsen.Nemesis;
using KvStore.Jepsen.Reports;
using KvStore.Jepsen.Workloads;

namespace KvStore.Jepsen.Run;

/// <summary>
/// One run: start the cluster, run the workloads while the nemesis injects faults, heal
/// everything, wait for a leader, do the final reads, check, and write the reports. The cluster
/// is torn down whatever happens.
/// </summary>
public static class JepsenRun
{
    public static async Task<RunResult> ExecuteAsync(RunOptions options, INemesis? nemesis, TextWriter log, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(options.OutDirectory);
        var clock = new RunClock();
        var random = new Random(options.Seed);
        var settings = new ClusterSettings
        {
            SnapshotEveryEntries = options.SnapshotEveryEntries,
            LoseUnsyncedWrites = options.Nemeses.Contains("lost-writes"),
        };
        log.WriteLine($"kvstore-jepsen run: {options.Nodes} nodes, workloads {string.Join(",", options.Workloads)}, nemesis {nemesis?.Name ?? "none"}, {options.Time.TotalSeconds:0} s, seed {options.Seed}, out {Path.GetFullPath(options.OutDirectory)}");
        await using ClusterUnderTest cluster = await ClusterUnderTest.StartAsync(options.Nodes, options.OutDirectory, options.Seed, settings, log, cancellationToken).ConfigureAwait(false);
        log.WriteLine($"{clock.Seconds,7:0.0} s  cluster up: {string.Join(", ", cluster.Nodes.Select(n => $"{n.Name} clients {n.ClientUrl}"))}");

        var workloads = new List<IWorkload>();
        try
        {
            foreach (string name in options.Workloads)
            {
                workloads.Add(name switch
                {
                    "register" => new RegisterWorkload(cluster.ClientUrls, Path.Combine(options.OutDirectory, "history.jsonl"), clock, random.Next(), options.CheckTimeLimit),
                    "set" => new SetWorkload(cluster.ClientUrls, Path.Combine(options.OutDirectory, "set-history.jsonl"), clock),
                    _ => throw new ArgumentException($"unknown workload {name}"),
                });
            }

            NemesisSchedule? schedule = nemesis is null ? null : new NemesisSchedule(cluster, nemesis, options.FaultInterval, new Random(random.Next()), clock, log);
            double workloadStart = clock.Seconds;
            using (var phase = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                phase.CancelAfter(options.Time);
                var tasks = workloads.Select(w => w.RunClientsAsync(phase.Token)).ToList();
                if (schedule is not null)
                {
                    tasks.Add(schedule.RunAsync(phase.Token));
                }

                await Task.WhenAll(tasks).ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            double workloadSeconds = clock.Seconds - workloadStart;
            log.WriteLine($"{clock.Seconds,7:0.0} s  workload phase over; healing every fault");
            cluster.HealAll();
            string? recoveryError = null;
            try
            {
                await cluster.WaitForLeaderAsync(options.RecoveryTimeout, cancellationToken).ConfigureAwait(false);
                log.WriteLine($"{clock.Seconds,7:0.0} s  recovered: all nodes follow one leader");
            }
            catch (TimeoutException ex)
            {
                recoveryError = ex.Message;
                log.WriteLine($"{clock.Seconds,7:0.0} s  NOT recovered: {ex.Message}");
            }

            foreach (IWorkload workload in workloads)
            {
                await workload.FinalReadsAsync(cancellationToken).ConfigureAwait(false);
            }

            log.WriteLine($"{clock.Seconds,7:0.0} s  final reads done; checking");
            var checkers = workloads.Select(w => w.Check()).ToList();
            var result = new RunResult(
                options,
                checkers,
                workloads.SelectMany(w => w.History.Operations).ToList(),
                schedule?.Timeline ?? [],
                workloadSeconds,
                recoveryError);
            RunReportWriter.WriteAll(result, cluster, log);
            return result;
        }
        finally
        {
            foreach (IWorkload workload in workloads)
            {
                await workload.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
