using System.Globalization;
using KvStore.Jepsen.Histories;

namespace KvStore.Jepsen.Linearizability;

/// <summary>
/// Writes a check's verdict as text for people: one verdict line, then for every part that is not
/// linearizable the end of the longest linearizable prefix, the state it leaves, and the
/// operations that cannot be linearized next, each with its client and file positions.
/// </summary>
public static class CheckReportWriter
{
    /// <summary>How many operations at the end of the prefix are shown; the ones just before the
    /// stuck point are the ones that explain it.</summary>
    private const int PrefixTail = 10;

    public static void Write(CheckResult result, TextWriter output)
    {
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"verdict: {Name(result.Verdict)} (model {result.Model}, {result.Partitions.Count} part(s), {result.Elapsed.TotalSeconds:0.000} s)"));

        var undecided = result.Partitions.Where(p => p.Verdict == Verdict.Unknown).Select(p => p.Label).ToList();
        if (undecided.Count > 0)
        {
            string why = result.Verdict == Verdict.NotLinearizable
                ? "the search stops at the first violation"
                : "the time budget ran out";
            output.WriteLine($"{undecided.Count} of {result.Partitions.Count} part(s) left undecided, {why}: " +
                $"{string.Join(", ", undecided.Take(5))}{(undecided.Count > 5 ? ", ..." : "")}");
        }

        foreach (PartitionResult part in result.Partitions)
        {
            if (part.Counterexample is { } counterexample)
            {
                output.WriteLine();
                WriteCounterexample(part, counterexample, output);
            }
        }
    }

    public static string Name(Verdict verdict) => verdict switch
    {
        Verdict.Linearizable => "linearizable",
        Verdict.NotLinearizable => "NOT linearizable",
        Verdict.Unknown => "unknown",
        _ => throw new ArgumentOutOfRangeException(nameof(verdict), verdict, "unknown verdict"),
    };

    private static void WriteCounterexample(PartitionResult part, Counterexample counterexample, TextWriter output)
    {
        output.WriteLine($"{part.Label}: not linearizable ({part.OperationCount} operations)");
        output.WriteLine($"  longest linearizable prefix: {counterexample.Prefix.Count} of {counterexample.TotalOperations} operations");
        int hidden = Math.Max(0, counterexample.Prefix.Count - PrefixTail);
        if (hidden > 0)
        {
            output.WriteLine($"    ... {hidden} earlier operation(s)");
        }
        foreach (DescribedOperation step in counterexample.Prefix.Skip(hidden))
        {
            output.WriteLine($"    {Format(step.Operation, step.Description)}");
        }
        output.WriteLine($"  state after the prefix: {counterexample.StateAfterPrefix}");
        output.WriteLine("  cannot be linearized next:");
        foreach (DescribedOperation stuck in counterexample.Stuck)
        {
            output.WriteLine($"    {Format(stuck.Operation, stuck.Description)}: impossible in state {counterexample.StateAfterPrefix}");
        }
    }

    private static string Format(Operation operation, string description)
    {
        string completed = operation.Completed is { } position
            ? $"line {position.Line}"
            : "never";
        return $"process {operation.Process}: {description} [invoked line {operation.Invoked.Line}, completed {completed}]";
    }
}
