using System.CommandLine;
using System.Globalization;
using KvStore.Jepsen.Histories;
using KvStore.Jepsen.Linearizability;
using KvStore.Jepsen.Linearizability.Models;

namespace KvStore.Jepsen.Cli;

/// <summary>
/// <c>check --model M --history FILE [--format F] [--time-limit S]</c>: checks one history file for
/// linearizability and prints the verdict, with an explanation when it is not linearizable.
/// </summary>
public static class CheckCommand
{
    /// <summary>Default search budget: generous for real histories, bounded for pathological ones.</summary>
    private const double DefaultTimeLimitSeconds = 60;

    /// <summary>A week: longer is a typo, and TimeSpan cannot hold arbitrary doubles.</summary>
    private const double MaxTimeLimitSeconds = 7 * 24 * 3600;

    private static readonly IReadOnlyDictionary<string, HistoryFormat> Formats = new Dictionary<string, HistoryFormat>
    {
        ["auto"] = HistoryFormat.Auto,
        ["jepsen-log"] = HistoryFormat.JepsenLog,
        ["edn"] = HistoryFormat.Edn,
        ["jsonl"] = HistoryFormat.JsonLines,
    };

    public static Command Create()
    {
        var model = new Option<string>("--model")
        {
            Description = "The sequential model: register, cas-register or kv-append.",
            Required = true,
        };
        model.AcceptOnlyFromAmong([.. ModelCatalog.Names]);

        var history = new Option<FileInfo>("--history")
        {
            Description = "The history file.",
            Required = true,
        };

        var format = new Option<string>("--format")
        {
            Description = "The history's format: auto (default), jepsen-log, edn or jsonl.",
            DefaultValueFactory = _ => "auto",
        };
        format.AcceptOnlyFromAmong([.. Formats.Keys]);

        var timeLimit = new Option<double>("--time-limit")
        {
            Description = "Seconds the search may take before the verdict is unknown (default 60).",
            DefaultValueFactory = _ => DefaultTimeLimitSeconds,
        };
        timeLimit.Validators.Add(result =>
        {
            double seconds = result.GetValueOrDefault<double>();
            if (!(seconds > 0 && seconds <= MaxTimeLimitSeconds))
            {
                result.AddError($"--time-limit must be a positive number of seconds, at most {MaxTimeLimitSeconds:0}");
            }
        });

        var command = new Command("check", "Check a history file for linearizability (exit 0 valid, 1 invalid, 2 unknown or error).")
        {
            model, history, format, timeLimit,
        };
        command.SetAction(parse => Run(
            parse.GetRequiredValue(model),
            parse.GetRequiredValue(history),
            Formats[parse.GetRequiredValue(format)],
            TimeSpan.FromSeconds(parse.GetValue(timeLimit)),
            parse.InvocationConfiguration.Output,
            parse.InvocationConfiguration.Error));
        return command;
    }

    private static int Run(string model, FileInfo file, HistoryFormat format, TimeSpan timeLimit, TextWriter output, TextWriter error)
    {
        CheckResult result;
        HistoryFile history;
        try
        {
            history = HistoryFile.Read(file.ToString(), format);
            result = ModelCatalog.Check(model, history.Operations, new CheckBudget(timeLimit));
        }
        catch (HistoryFormatException e)
        {
            error.WriteLine($"kvstore-jepsen check: {e.Message}");
            return ExitCodes.UnknownOrError;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"kvstore-jepsen check: cannot read {file}: {e.Message}");
            return ExitCodes.UnknownOrError;
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"history: {history.Path} ({FormatName(history.Format)}, {history.EventCount} events, {history.Operations.Count} operations)"));
        CheckReportWriter.Write(result, output);
        return result.Verdict switch
        {
            Verdict.Linearizable => ExitCodes.Valid,
            Verdict.NotLinearizable => ExitCodes.Invalid,
            _ => ExitCodes.UnknownOrError,
        };
    }

    private static string FormatName(HistoryFormat format) => Formats.First(pair => pair.Value == format).Key;
}
