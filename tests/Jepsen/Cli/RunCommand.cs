using System.CommandLine;
using KvStore.Jepsen.Nemesis;
using KvStore.Jepsen.Reports;
using KvStore.Jepsen.Run;
using KvStore.Jepsen.Workloads;

namespace KvStore.Jepsen.Cli;

/// <summary>
/// <c>run --workload W --nemesis N --nodes 3|5 --time S --seed N --out DIR</c>: a fault-injection run
/// against a real cluster (issue 6). Exit 0 valid, 1 invalid, 2 unknown or could not run.
/// Names from the issue that are not built are refused with "not built yet", never skipped silently.
/// </summary>
public static class RunCommand
{
    private static readonly string[] BuiltWorkloads = ["register", "set"];

    private static readonly IReadOnlyDictionary<string, string> MissingWorkloads = new Dictionary<string, string>
    {
        ["lock"] = "locks do not exist in the server yet (issue 5)",
        ["watch"] = "watches do not exist in the server yet (issue 5)",
        ["lease"] = "leases do not exist in the server yet (issue 5)",
    };

    private static readonly string[] BuiltNemeses = ["partition", "kill", "pause", "member", "clock", "lost-writes"];

    private static readonly IReadOnlyDictionary<string, string> MissingNemeses = new Dictionary<string, string>();

    public static Command Create()
    {
        var workload = new Option<string>("--workload") { Description = "register, set, or all (lock, watch, lease: not built yet). Comma lists allowed.", DefaultValueFactory = _ => "all" };
        var nemesis = new Option<string>("--nemesis") { Description = "none, partition, kill, pause, member, clock, lost-writes, or all. Comma lists allowed.", DefaultValueFactory = _ => "none" };
        var nodes = new Option<int>("--nodes") { Description = "Cluster size: 3 or 5.", DefaultValueFactory = _ => 3 };
        nodes.AcceptOnlyFromAmong("3", "5");
        var time = new Option<double>("--time") { Description = "Seconds of workload under faults (default 60).", DefaultValueFactory = _ => 60 };
        var seed = new Option<int?>("--seed") { Description = "Random seed of the schedule and the operations (default: random, printed)." };
        var output = new Option<string?>("--out") { Description = "Directory for the results (default jepsen-runs/<UTC time>)." };
        var interval = new Option<double>("--interval") { Description = "Seconds between faults and of each fault (default 5).", DefaultValueFactory = _ => 5 };
        var snapshotEvery = new Option<long>("--snapshot-every") { Description = "Nodes snapshot and compact their log every N entries (default 2000), so restarted nodes install snapshots.", DefaultValueFactory = _ => 2_000 };
        snapshotEvery.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<long>() < 10)
            {
                result.AddError("--snapshot-every must be at least 10 entries");
            }
        });
        var checkLimit = new Option<double>("--check-time-limit") { Description = "Seconds the linearizability search may take (default 60).", DefaultValueFactory = _ => 60 };
        foreach (Option<double> positive in new[] { time, interval, checkLimit })
        {
            positive.Validators.Add(result =>
            {
                double value = result.GetValueOrDefault<double>();
                if (!(value > 0 && value <= 7 * 24 * 3600))
                {
                    result.AddError($"{result.Option.Name} must be a positive number of seconds");
                }
            });
        }

        var command = new Command("run", "Run workloads against a real cluster under faults and check the histories (exit 0 valid, 1 invalid, 2 unknown or error).")
        {
            workload, nemesis, nodes, time, seed, output, interval, checkLimit, snapshotEvery,
        };
        command.SetAction((parse, token) => RunAsync(
            parse.GetRequiredValue(workload),
            parse.GetRequiredValue(nemesis),
            parse.GetValue(nodes),
            parse.GetValue(time),
            parse.GetValue(seed),
            parse.GetValue(output),
            parse.GetValue(interval),
            parse.GetValue(checkLimit),
            parse.GetValue(snapshotEvery),
            parse.InvocationConfiguration.Output,
            parse.InvocationConfiguration.Error,
            token));
        return command;
    }

    /// <summary>Parses a workload list: names, or "all" for every built one.</summary>
    public static IReadOnlyList<string> ParseWorkloads(string text) => ParseNames(text, BuiltWorkloads, MissingWorkloads, "workload", allowNone: false);

    /// <summary>Parses a nemesis list; "none" is the empty list.</summary>
    public static IReadOnlyList<string> ParseNemeses(string text) => ParseNames(text, BuiltNemeses, MissingNemeses, "nemesis", allowNone: true);

    public static INemesis? CreateNemesis(IReadOnlyList<string> names)
    {
        var nemeses = names.Select(name => name switch
        {
            "partition" => (INemesis)new PartitionNemesis(),
            "kill" => new KillNemesis(),
            "pause" => new PauseNemesis(),
            "member" => new MemberNemesis(),
            "clock" => new ClockNemesis(),
            "lost-writes" => new LostWritesNemesis(),
            _ => throw new ArgumentException($"unknown nemesis {name}"),
        }).ToList();
        return nemeses.Count switch
        {
            0 => null,
            1 => nemeses[0],
            _ => new MixedNemesis(nemeses),
        };
    }

    public static int ExitCode(CheckerVerdict verdict) => verdict switch
    {
        CheckerVerdict.Valid => ExitCodes.Valid,
        CheckerVerdict.Invalid => ExitCodes.Invalid,
        _ => ExitCodes.UnknownOrError,
    };

    private static IReadOnlyList<string> ParseNames(string text, string[] built, IReadOnlyDictionary<string, string> missing, string kind, bool allowNone)
    {
        var names = new List<string>();
        foreach (string name in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (name == "all")
            {
                names.AddRange(built);
            }
            else if (allowNone && name == "none")
            {
                continue;
            }
            else if (built.Contains(name))
            {
                names.Add(name);
            }
            else if (missing.TryGetValue(name, out string? why))
            {
                throw new ArgumentException($"not built yet: {kind} {name} ({why})");
            }
            else
            {
                throw new ArgumentException($"unknown {kind} '{name}'; known: {string.Join(", ", built.Concat(missing.Keys))}, all{(allowNone ? ", none" : "")}");
            }
        }

        if (!allowNone && names.Count == 0)
        {
            throw new ArgumentException($"no {kind} given");
        }

        return names.Distinct().ToList();
    }

    private static async Task<int> RunAsync(string workloadText, string nemesisText, int nodes, double time, int? seed, string? output, double interval, double checkLimit, long snapshotEvery, TextWriter console, TextWriter error, CancellationToken cancellationToken)
    {
        RunOptions options;
        INemesis? nemesis;
        try
        {
            IReadOnlyList<string> nemeses = ParseNemeses(nemesisText);
            options = new RunOptions
            {
                Workloads = ParseWorkloads(workloadText),
                Nemeses = nemeses,
                Nodes = nodes,
                Time = TimeSpan.FromSeconds(time),
                Seed = seed ?? Random.Shared.Next(),
                OutDirectory = output ?? Path.Combine("jepsen-runs", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture)),
                FaultInterval = TimeSpan.FromSeconds(interval),
                CheckTimeLimit = TimeSpan.FromSeconds(checkLimit),
                SnapshotEveryEntries = snapshotEvery,
            };
            nemesis = CreateNemesis(nemeses);
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"kvstore-jepsen run: {e.Message}");
            return ExitCodes.UnknownOrError;
        }

        try
        {
            RunResult result = await JepsenRun.ExecuteAsync(options, nemesis, console, cancellationToken).ConfigureAwait(false);
            return ExitCode(result.Verdict);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            error.WriteLine("kvstore-jepsen run: interrupted; the cluster was stopped");
            return ExitCodes.UnknownOrError;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Exit 1 means "a checker found a violation"; a run that broke down has no verdict.
            error.WriteLine($"kvstore-jepsen run: the run failed: {e}");
            return ExitCodes.UnknownOrError;
        }
    }
}
