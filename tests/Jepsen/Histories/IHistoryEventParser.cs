namespace KvStore.Jepsen.Histories;

/// <summary>Reads the events of one history file format, in file order.</summary>
public interface IHistoryEventParser
{
    /// <summary>
    /// Parses every event; <paramref name="file"/> names the source in errors and positions.
    /// Throws <see cref="HistoryFormatException"/> naming the file and line of the first bad line.
    /// </summary>
    IReadOnlyList<HistoryEvent> Parse(string file, TextReader reader);
}
