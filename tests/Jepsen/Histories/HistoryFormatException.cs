namespace KvStore.Jepsen.Histories;

/// <summary>
/// A history file that cannot be read as a history: the message names the file and the 1-based line.
/// </summary>
public sealed class HistoryFormatException : Exception
{
    public HistoryFormatException(string file, int line, string reason)
        : base($"{file}:{line}: {reason}")
    {
        File = file;
        Line = line;
        Reason = reason;
    }

    /// <summary>The file (as named by the caller) holding the bad line.</summary>
    public string File { get; }

    /// <summary>The 1-based line number; 0 when the problem is the file as a whole.</summary>
    public int Line { get; }

    /// <summary>What is wrong, without the position.</summary>
    public string Reason { get; }
}
