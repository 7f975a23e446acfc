using System.Collections.Concurrent;
using System.Diagnostics;
using Xunit.Abstractions;

namespace KvStore.Raft.Tests.Simulation;

/// <summary>
/// Runs a configuration over many seeds (in parallel; each run is single-threaded and deterministic).
/// <c>KVSTORE_SIM_SEEDS=N</c> sets the number of seeds per configuration; <c>KVSTORE_SIM_SEED=S</c>
/// runs only seed S. A failure names the smallest failing seed and the command that replays it.
/// </summary>
internal static class SimulationRunner
{
    public const string SeedsVariable = "KVSTORE_SIM_SEEDS";
    public const string SeedVariable = "KVSTORE_SIM_SEED";

    public static IReadOnlyList<ulong> Seeds(int defaultCount)
    {
        if (Environment.GetEnvironmentVariable(SeedVariable) is { Length: > 0 } one)
        {
            return [ulong.Parse(one, System.Globalization.CultureInfo.InvariantCulture)];
        }

        int count = Environment.GetEnvironmentVariable(SeedsVariable) is { Length: > 0 } many
            ? int.Parse(many, System.Globalization.CultureInfo.InvariantCulture)
            : defaultCount;
        return Enumerable.Range(1, count).Select(i => (ulong)i).ToArray();
    }

    public static string ReplayCommand(ulong seed, string testName) =>
        $"{SeedVariable}={seed} dotnet test tests/KvStore.Raft.Tests -c Release --filter \"FullyQualifiedName~{testName}\"";

    /// <summary>Runs every seed; fails the test with the smallest failing seed's report and replay command.</summary>
    public static IReadOnlyList<SimulationResult> RunAll(string testName, int defaultCount, Func<ulong, SimulationOptions> options, ITestOutputHelper output)
    {
        var seeds = Seeds(defaultCount);
        var results = new ConcurrentBag<SimulationResult>();
        var failures = new ConcurrentBag<(ulong Seed, Exception Error)>();
        var clock = Stopwatch.StartNew();
        Parallel.ForEach(seeds, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, seed =>
        {
            try
            {
                results.Add(new Simulator(options(seed)).Run());
            }
            catch (Exception e)
            {
                failures.Add((seed, e));
            }
        });
        clock.Stop();

        if (!failures.IsEmpty)
        {
            var (seed, error) = failures.OrderBy(f => f.Seed).First();
            Assert.Fail($"{failures.Count} of {seeds.Count} seeds failed. Smallest failing seed {seed}:{Environment.NewLine}" +
                        $"{error}{Environment.NewLine}Replay with:{Environment.NewLine}  {ReplayCommand(seed, testName)}");
        }

        var all = results.ToList();
        output.WriteLine($"{testName}: {all.Count} seeds in {clock.Elapsed.TotalSeconds:F1} s; " +
                         $"acked writes {all.Sum(r => r.AckedWrites)}, reads {all.Sum(r => r.ReadsServed)}, leaders {all.Sum(r => r.Leaders)}, " +
                         $"crashes {all.Sum(r => r.Crashes)}, conf changes {all.Sum(r => r.ConfChanges)}, events {all.Sum(r => r.Events)}, " +
                         $"max recovery {all.Max(r => r.RecoveryTicks)} ticks");
        return all;
    }
}
