using System.Text.Json;
using KvStore.Jepsen.Cluster;
using KvStore.Jepsen.Run;
using KvStore.Jepsen.Workloads;

namespace KvStore.Jepsen.Reports;

/// <summary>
/// Writes a run's directory: results.json, timeline.html, latency.png, throughput.png (the
/// histories and the node logs are already there), and prints the verdict table.
/// </summary>
public static class RunReportWriter
{
    public static void WriteAll(RunResult result, ClusterUnderTest cluster, TextWriter log)
    {
        string dir = result.Options.OutDirectory;
        WriteResultsJson(result, cluster, Path.Combine(dir, "results.json"));
        TimelineHtmlWriter.Write(result, Path.Combine(dir, "timeline.html"));
        RunPlots.WriteLatency(result, Path.Combine(dir, "latency.png"));
        RunPlots.WriteThroughput(result, Path.Combine(dir, "throughput.png"));
        WriteVerdictTable(result, log);
    }

    public static void WriteVerdictTable(RunResult result, TextWriter output)
    {
        // The checker column is as wide as the longest name, so verdicts line up whatever runs.
        int width = result.Checkers.Select(c => c.Checker.Length).Append("checker".Length).Max();
        output.WriteLine();
        output.WriteLine($"{"checker".PadRight(width)} {"verdict",-8} summary");
        output.WriteLine(new string('-', 110));
        foreach (CheckerResult checker in result.Checkers)
        {
            output.WriteLine($"{checker.Checker.PadRight(width)} {Name(checker.Verdict),-8} {checker.Summary}");
            if (checker.Verdict == CheckerVerdict.Invalid && checker.Details.TryGetValue("explanation", out object? explanation))
            {
                output.WriteLine(explanation);
            }
            else if (checker.Verdict == CheckerVerdict.Invalid && checker.Details.TryGetValue("violations", out object? violations) && violations is IEnumerable<string> list)
            {
                foreach (string violation in list.Take(10))
                {
                    output.WriteLine($"  - {violation}");
                }
            }
        }

        output.WriteLine(new string('-', 110));
        if (result.RecoveryError is not null)
        {
            output.WriteLine($"recovery: {result.RecoveryError}");
        }

        output.WriteLine($"{result.Faults.Count} faults, {result.Operations.Count} operations; overall: {Name(result.Verdict)}");
    }

    public static string Name(CheckerVerdict verdict) => verdict switch
    {
        CheckerVerdict.Valid => "valid",
        CheckerVerdict.Invalid => "INVALID",
        _ => "unknown",
    };

    private static void WriteResultsJson(RunResult result, ClusterUnderTest cluster, string path)
    {
        RunOptions o = result.Options;
        var document = new Dictionary<string, object?>
        {
            ["verdict"] = Name(result.Verdict),
            ["options"] = new Dictionary<string, object>
            {
                ["workloads"] = o.Workloads,
                ["nemeses"] = o.Nemeses,
                ["nodes"] = o.Nodes,
                ["timeSeconds"] = o.Time.TotalSeconds,
                ["seed"] = o.Seed,
                ["faultIntervalSeconds"] = o.FaultInterval.TotalSeconds,
            },
            ["workloadSeconds"] = Math.Round(result.WorkloadSeconds, 3),
            ["recoveryError"] = result.RecoveryError,
            ["checkers"] = result.Checkers.Select(c => new Dictionary<string, object>
            {
                ["checker"] = c.Checker,
                ["verdict"] = Name(c.Verdict),
                ["summary"] = c.Summary,
                ["details"] = c.Details,
            }).ToList(),
            ["operations"] = result.Operations
                .GroupBy(op => op.Workload)
                .ToDictionary(g => g.Key, g => new Dictionary<string, int>
                {
                    ["total"] = g.Count(),
                    ["ok"] = g.Count(op => op.Outcome == OperationOutcome.Ok),
                    ["fail"] = g.Count(op => op.Outcome == OperationOutcome.Fail),
                    ["info"] = g.Count(op => op.Outcome == OperationOutcome.Info),
                }),
            ["faults"] = result.Faults.Select(f => new Dictionary<string, object?>
            {
                ["nemesis"] = f.Nemesis,
                ["description"] = f.Description,
                ["startSeconds"] = Math.Round(f.StartNanos / 1e9, 3),
                ["endSeconds"] = f.EndNanos is { } end ? Math.Round(end / 1e9, 3) : null,
                ["healError"] = f.HealError,
            }).ToList(),
            ["proxies"] = cluster.Nodes.Select(n => new Dictionary<string, object>
            {
                ["node"] = n.Name,
                ["framesForwarded"] = n.Proxy.FramesForwarded,
                ["framesDropped"] = n.Proxy.FramesDropped,
            }).ToList(),
            ["nodeLogs"] = cluster.Nodes.Select(n => Path.GetRelativePath(o.OutDirectory, n.LogPath)).ToList(),
        };
        File.WriteAllText(path, JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
    }
}
