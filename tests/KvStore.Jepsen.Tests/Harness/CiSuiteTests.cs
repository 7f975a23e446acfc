using System.Globalization;
using KvStore.Jepsen.Cli;
using KvStore.Jepsen.Run;
using KvStore.Jepsen.Workloads;

namespace KvStore.Jepsen.Tests.Harness;

/// <summary>
/// The short fault-injection suite of CI (issue 6): each workload alone on 3 real nodes under every
/// nemesis mixed (partition, kill, pause, member, clock, lost-writes; one fault at a time, 3 s apart),
/// for <see cref="SecondsVariable"/> seconds (default 60). Any invalid or unknown verdict fails it,
/// and so does a cluster that does not recover after the faults are healed.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class CiSuiteTests
{
    /// <summary>Seconds of workload under faults per workload; about 15 s more go to start-up, recovery and checking.</summary>
    public const string SecondsVariable = "KVSTORE_JEPSEN_SUITE_SECONDS";

    /// <summary>Replays a failure: the seed printed in the failure message.</summary>
    public const string SeedVariable = "KVSTORE_JEPSEN_SUITE_SEED";

    [Theory]
    [InlineData("register", 601)]
    [InlineData("set", 602)]
    public async Task Workload_stays_valid_under_mixed_faults(string workload, int defaultSeed)
    {
        int seed = Environment.GetEnvironmentVariable(SeedVariable) is { Length: > 0 } s ? int.Parse(s, CultureInfo.InvariantCulture) : defaultSeed;
        double seconds = Environment.GetEnvironmentVariable(SecondsVariable) is { Length: > 0 } t ? double.Parse(t, CultureInfo.InvariantCulture) : 60;
        string output = Path.Combine(Path.GetTempPath(), $"kvstore-jepsen-suite-{workload}-{Guid.NewGuid():N}");
        IReadOnlyList<string> nemeses = RunCommand.ParseNemeses("all");
        var options = new RunOptions
        {
            Workloads = RunCommand.ParseWorkloads(workload),
            Nemeses = nemeses,
            Nodes = 3,
            Time = TimeSpan.FromSeconds(seconds),
            Seed = seed,
            OutDirectory = output,
            FaultInterval = TimeSpan.FromSeconds(3),
        };

        RunResult result = await JepsenRun.ExecuteAsync(options, RunCommand.CreateNemesis(nemeses), TextWriter.Null, CancellationToken.None);

        string replay = $"replay: {SeedVariable}={seed} {SecondsVariable}={seconds}; results in {output}";
        Assert.True(result.Verdict == CheckerVerdict.Valid, RealClusterRunTests.Describe(result) + Environment.NewLine + replay);
        Assert.True(result.RecoveryError is null, $"not recovered: {result.RecoveryError}; {replay}");
        Assert.NotEmpty(result.Faults);
        Assert.All(result.Faults, f => Assert.True(f.HealError is null, $"healing {f.Description} failed: {f.HealError}; {replay}"));
        Assert.Contains(result.Operations, o => o.Outcome == OperationOutcome.Ok);
        Directory.Delete(output, recursive: true);
    }
}
