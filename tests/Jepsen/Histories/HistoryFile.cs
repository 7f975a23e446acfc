namespace KvStore.Jepsen.Histories;

/// <summary>A history read from a file: its format and its operations.</summary>
public sealed record HistoryFile(string Path, HistoryFormat Format, int EventCount, IReadOnlyList<Operation> Operations)
{
    /// <summary>
    /// Reads and assembles a history. Throws <see cref="HistoryFormatException"/> naming the file and
    /// line of a bad event, and the usual I/O exceptions when the file cannot be read.
    /// </summary>
    public static HistoryFile Read(string path, HistoryFormat format = HistoryFormat.Auto)
    {
        string content = File.ReadAllText(path);
        return Parse(path, content, format);
    }

    /// <summary>Parses a history held in memory; <paramref name="name"/> names it in errors.</summary>
    public static HistoryFile Parse(string name, string content, HistoryFormat format = HistoryFormat.Auto)
    {
        if (format == HistoryFormat.Auto)
        {
            format = HistoryFormatDetector.Detect(name, content);
        }
        IHistoryEventParser parser = format switch
        {
            HistoryFormat.JepsenLog => new JepsenLogParser(),
            HistoryFormat.Edn => new EdnEventParser(),
            HistoryFormat.JsonLines => new JsonLinesParser(),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown history format"),
        };
        using var reader = new StringReader(content);
        IReadOnlyList<HistoryEvent> events = parser.Parse(name, reader);
        return new HistoryFile(name, format, events.Count, OperationAssembler.Assemble(events));
    }
}
