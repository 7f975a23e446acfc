namespace KvStore.Jepsen.Workloads;

/// <summary>A checker's conclusion about one run.</summary>
public enum CheckerVerdict
{
    Valid,
    Invalid,

    /// <summary>The checker could not decide (its time budget ran out).</summary>
    Unknown,
}

/// <summary>The result of one checker: verdict, a one-line summary, and figures for results.json.</summary>
public sealed record CheckerResult(string Checker, CheckerVerdict Verdict, string Summary, IReadOnlyDictionary<string, object> Details);
