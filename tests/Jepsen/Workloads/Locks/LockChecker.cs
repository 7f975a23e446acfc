using System.Globalization;
using KvStore.Jepsen.Run;

namespace KvStore.Jepsen.Workloads.Locks;

/// <summary>
/// Judges a lock run: the writes the store accepted from lock holders must be mutually exclusive
/// and in fencing-token order. Ordered by the revision at which the store accepted them, the
/// tokens never go down (a holder whose lock was taken over cannot write after its successor, and
/// each holder's writes form one unbroken block); every token was granted to one process only; an
/// accepted write carries a token its writer was granted; and the final value of the protected
/// key is the last accepted write (or a write of unknown outcome).
/// </summary>
/// <remarks>
/// The same checks judge the unfenced control, whose holders write with plain puts: there they
/// must find violations (a paused holder's late write lands after its successor's), which proves
/// the checker can see what the fence prevents. A control without violations is "unknown".
/// </remarks>
public static class LockChecker
{
    public const string FencedName = "lock (fenced writes: exclusive, token order)";

    public const string ControlName = "lock control (unfenced: must show violations)";

    /// <param name="grants">Every acquisition that returned.</param>
    /// <param name="writes">Every write a holder attempted.</param>
    /// <param name="finalValue">The protected key's value read after recovery; null when it is absent.</param>
    /// <param name="finalRead">Whether the final read succeeded at all.</param>
    /// <param name="control">True for the unfenced control variant.</param>
    public static CheckerResult Check(IReadOnlyList<LockGrant> grants, IReadOnlyList<LockedWrite> writes, string? finalValue, bool finalRead, bool control)
    {
        var violations = new List<string>();
        foreach (IGrouping<long, LockGrant> shared in grants.GroupBy(g => g.Token).Where(g => g.Select(x => x.Process).Distinct().Count() > 1))
        {
            violations.Add(Invariant($"token {shared.Key} was granted to processes {string.Join(", ", shared.Select(g => g.Process).Distinct())}"));
        }

        var granted = grants.Select(g => (g.Process, g.Token)).ToHashSet();
        List<LockedWrite> accepted = writes.Where(w => w.Outcome == OperationOutcome.Ok).OrderBy(w => w.Revision).ToList();
        foreach (LockedWrite w in accepted.Where(w => !granted.Contains((w.Process, w.Token))))
        {
            violations.Add(Invariant($"process {w.Process} wrote with token {w.Token} (revision {w.Revision}), which it was never granted"));
        }

        foreach (IGrouping<long, LockedWrite> same in accepted.GroupBy(w => w.Revision).Where(g => g.Count() > 1))
        {
            violations.Add(Invariant($"{same.Count()} accepted writes share revision {same.Key}"));
        }

        LockedWrite? highest = null;
        foreach (LockedWrite w in accepted)
        {
            if (highest is not null && w.Token < highest.Token)
            {
                violations.Add(Invariant(
                    $"process {w.Process} (token {w.Token}) wrote '{w.Value}' at revision {w.Revision}, after process {highest.Process} (token {highest.Token}) wrote at revision {highest.Revision}: two holders at once"));
            }

            if (highest is null || w.Token >= highest.Token)
            {
                highest = w;
            }
        }

        string? lastAccepted = accepted.Count > 0 ? accepted[^1].Value : null;
        var unknownValues = writes.Where(w => w.Outcome == OperationOutcome.Info).Select(w => w.Value).ToHashSet();
        if (finalRead && finalValue != lastAccepted && (finalValue is null || !unknownValues.Contains(finalValue)))
        {
            violations.Add(Invariant($"the final value is {(finalValue is null ? "absent" : $"'{finalValue}'")}, but the last accepted write (revision {accepted.LastOrDefault()?.Revision}) wrote '{lastAccepted}'"));
        }

        var details = new Dictionary<string, object>
        {
            ["grants"] = grants.Count,
            ["accepted"] = accepted.Count,
            ["refused"] = writes.Count(w => w.Outcome == OperationOutcome.Fail),
            ["unknown"] = writes.Count(w => w.Outcome == OperationOutcome.Info),
            ["violations"] = violations,
        };
        string figures = Invariant($"{grants.Count} grants, {accepted.Count} writes accepted, {details["refused"]} refused by the fence, {details["unknown"]} unknown");
        if (control)
        {
            return violations.Count > 0
                ? new CheckerResult(ControlName, CheckerVerdict.Valid, Invariant($"{violations.Count} violations seen, as expected without a fence; {figures}"), details)
                : new CheckerResult(ControlName, CheckerVerdict.Unknown, $"no violation seen: this run cannot show that the checker would catch one; {figures}", details);
        }

        if (!finalRead)
        {
            return new CheckerResult(FencedName, violations.Count > 0 ? CheckerVerdict.Invalid : CheckerVerdict.Unknown, $"the final read never succeeded; {violations.Count} violations; {figures}", details);
        }

        return violations.Count > 0
            ? new CheckerResult(FencedName, CheckerVerdict.Invalid, Invariant($"{violations.Count} violations, first: {violations[0]}; {figures}"), details)
            : new CheckerResult(FencedName, CheckerVerdict.Valid, figures, details);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
