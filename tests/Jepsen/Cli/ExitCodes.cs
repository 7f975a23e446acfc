namespace KvStore.Jepsen.Cli;

/// <summary>Process exit codes of <c>kvstore-jepsen</c> (issue 6, section 1).</summary>
public static class ExitCodes
{
    /// <summary>The history is valid (linearizable).</summary>
    public const int Valid = 0;

    /// <summary>The history is invalid: the checker found a violation.</summary>
    public const int Invalid = 1;

    /// <summary>The verdict is unknown (time budget exhausted), or the command could not run
    /// (bad arguments, unreadable or malformed history).</summary>
    public const int UnknownOrError = 2;
}
