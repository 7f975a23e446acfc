using KvStore.Jepsen.Nemesis;
using KvStore.Jepsen.Workloads;

namespace KvStore.Jepsen.Run;

/// <summary>Everything a run produced: the verdicts, the operations and the faults.</summary>
public sealed record RunResult(
    RunOptions Options,
    IReadOnlyList<CheckerResult> Checkers,
    IReadOnlyList<OperationRecord> Operations,
    IReadOnlyList<FaultWindow> Faults,
    double WorkloadSeconds,
    string? RecoveryError)
{
    public CheckerVerdict Verdict =>
        Checkers.Any(c => c.Verdict == CheckerVerdict.Invalid) ? CheckerVerdict.Invalid
        : Checkers.Count == 0 || Checkers.Any(c => c.Verdict == CheckerVerdict.Unknown) ? CheckerVerdict.Unknown
        : CheckerVerdict.Valid;
}
