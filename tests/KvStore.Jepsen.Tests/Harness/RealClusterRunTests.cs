using KvStore.Jepsen.Cli;
using KvStore.Jepsen.Run;
using KvStore.Jepsen.Workloads;

namespace KvStore.Jepsen.Tests.Harness;

/// <summary>
/// Short fault-injection runs against real 3-node clusters (kvstore.dll processes behind the fault
/// proxies): both workloads under partitions, then under kills. A KvStore that loses an
/// acknowledged write, serves a stale read or breaks linearizability fails these. About 25 s each.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class RealClusterRunTests
{
    [Theory]
    [InlineData("partition", 11)]
    [InlineData("kill", 12)]
    public async Task Register_and_set_stay_valid_under_faults(string nemesis, int seed)
    {
        string output = Path.Combine(Path.GetTempPath(), $"kvstore-jepsen-{nemesis}-{Guid.NewGuid():N}");
        try
        {
            RunResult result = await RunAsync(output, nemesis, nodes: 3, TimeSpan.FromSeconds(20), seed);

            Assert.True(result.Verdict == CheckerVerdict.Valid, Describe(result));
            Assert.Equal(["register (linearizable, cas-register per key)", "set (lost, stale, duplicated)"], result.Checkers.Select(c => c.Checker));
            Assert.NotEmpty(result.Faults);
            Assert.All(result.Faults, f => Assert.NotNull(f.EndNanos));
            Assert.Contains(result.Operations, o => o.Workload == "register" && o.Outcome == OperationOutcome.Ok);
            Assert.Contains(result.Operations, o => o.Workload == "set" && o.Outcome == OperationOutcome.Ok);
            foreach (string file in new[] { "results.json", "history.jsonl", "set-history.jsonl", "timeline.html", "latency.png", "throughput.png", "nodes/n1.log" })
            {
                Assert.True(new FileInfo(Path.Combine(output, file)).Length > 0, $"{file} is missing or empty");
            }

            // The recorded history is the checker's own format: `check` agrees with the run.
            var console = new StringWriter();
            Assert.Equal(ExitCodes.Valid, JepsenCommandLine.Run(["check", "--model", "cas-register", "--history", Path.Combine(output, "history.jsonl")], console, console));
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    /// <summary>The long matrix (opt-in): every built workload with every built nemesis, 3 and 5 nodes, 120 s each.</summary>
    [LongRunTheory]
    [InlineData("partition", 3)]
    [InlineData("kill", 3)]
    [InlineData("pause", 3)]
    [InlineData("member", 3)]
    [InlineData("clock", 3)]
    [InlineData("lost-writes", 3)]
    [InlineData("all", 3)]
    [InlineData("partition", 5)]
    [InlineData("kill", 5)]
    [InlineData("pause", 5)]
    [InlineData("member", 5)]
    [InlineData("clock", 5)]
    [InlineData("lost-writes", 5)]
    [InlineData("all", 5)]
    public async Task Long_matrix_run_is_valid(string nemesis, int nodes)
    {
        string output = Path.Combine(Path.GetTempPath(), $"kvstore-jepsen-long-{nemesis}-{nodes}-{Guid.NewGuid():N}");
        RunResult result = await RunAsync(output, nemesis, nodes, TimeSpan.FromSeconds(120), seed: 1000 + nodes);
        Assert.True(result.Verdict == CheckerVerdict.Valid, Describe(result) + $"{Environment.NewLine}results in {output}");
        Directory.Delete(output, recursive: true);
    }

    private static Task<RunResult> RunAsync(string output, string nemesis, int nodes, TimeSpan time, int seed)
    {
        IReadOnlyList<string> nemeses = RunCommand.ParseNemeses(nemesis);
        var options = new RunOptions
        {
            Workloads = RunCommand.ParseWorkloads("all"),
            Nemeses = nemeses,
            Nodes = nodes,
            Time = time,
            Seed = seed,
            OutDirectory = output,
            FaultInterval = TimeSpan.FromSeconds(3),
        };
        return JepsenRun.ExecuteAsync(options, RunCommand.CreateNemesis(nemeses), TextWriter.Null, CancellationToken.None);
    }

    internal static string Describe(RunResult result) =>
        string.Join(Environment.NewLine, result.Checkers.Select(c => $"{c.Checker}: {c.Verdict}: {c.Summary}{(c.Details.TryGetValue("explanation", out object? e) && c.Verdict != CheckerVerdict.Valid ? Environment.NewLine + e : "")}"))
        + (result.RecoveryError is null ? "" : Environment.NewLine + "recovery: " + result.RecoveryError);
}
