namespace KvStore.Jepsen.Histories;

/// <summary>
/// Jepsen's console log, as recorded by its etcd register test. Only lines containing
/// <c>jepsen.util</c> are events; their fields are separated by runs of whitespace:
/// <code>
/// INFO  jepsen.util - &lt;process&gt; :&lt;type&gt; :&lt;f&gt; &lt;value&gt;
/// </code>
/// where the value is EDN (<c>nil</c>, <c>3</c>, <c>[3 0]</c> for a compare-and-set, or
/// <c>:timed-out</c> on an :info or a failed read). Lines of the nemesis process are skipped:
/// they are faults, not client operations.
/// </summary>
public sealed class JepsenLogParser : IHistoryEventParser
{
    private const string Marker = "jepsen.util";

    public IReadOnlyList<HistoryEvent> Parse(string file, TextReader reader)
    {
        var events = new List<HistoryEvent>();
        int lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            int marker = line.IndexOf(Marker, StringComparison.Ordinal);
            if (marker < 0)
            {
                continue;
            }
            HistoryEvent? parsed = ParseLine(file, lineNumber, line, marker + Marker.Length);
            if (parsed is not null)
            {
                events.Add(parsed);
            }
        }
        return events;
    }

    private static HistoryEvent? ParseLine(string file, int lineNumber, string line, int start)
    {
        int position = start;
        string dash = NextField(line, ref position);
        if (dash != "-")
        {
            throw new HistoryFormatException(file, lineNumber, $"expected '-' after {Marker}, found '{dash}'");
        }
        string process = NextField(line, ref position);
        string type = NextField(line, ref position);
        string function = NextField(line, ref position);
        if (function.Length == 0)
        {
            throw new HistoryFormatException(file, lineNumber,
                $"expected '<process> :<type> :<f> <value>' after '{Marker} -'");
        }
        if (process == ":nemesis")
        {
            return null;
        }
        if (!long.TryParse(process, out long processId))
        {
            throw new HistoryFormatException(file, lineNumber, $"process '{process}' is not an integer");
        }
        if (!type.StartsWith(':') || !EventTypeNames.TryParse(type[1..], out EventType eventType))
        {
            throw new HistoryFormatException(file, lineNumber,
                $"type '{type}' is not one of :invoke, :ok, :fail, :info");
        }
        if (!function.StartsWith(':') || !OperationFunctionNames.TryParse(function[1..], out OperationFunction operation))
        {
            throw new HistoryFormatException(file, lineNumber, $"unknown operation '{function}'");
        }

        string rest = line[position..];
        HistoryValue value;
        try
        {
            var edn = new EdnReader(rest);
            value = edn.AtEnd ? HistoryValue.Nil : edn.ReadValue();
            if (!edn.AtEnd)
            {
                throw new FormatException("unexpected text after the value");
            }
        }
        catch (FormatException e)
        {
            throw new HistoryFormatException(file, lineNumber, $"bad value '{rest.Trim()}': {e.Message}");
        }

        return new HistoryEvent(processId, eventType, operation, Key: null, value, Time: null,
            new SourcePosition(file, lineNumber));
    }

    private static string NextField(string line, ref int position)
    {
        while (position < line.Length && char.IsWhiteSpace(line[position]))
        {
            position++;
        }
        int start = position;
        while (position < line.Length && !char.IsWhiteSpace(line[position]))
        {
            position++;
        }
        return line[start..position];
    }
}
