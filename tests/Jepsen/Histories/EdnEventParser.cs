namespace KvStore.Jepsen.Histories;

/// <summary>
/// Jepsen's EDN event form, one map per line:
/// <code>
/// {:process 0, :type :invoke, :f :append, :key "4", :value "x 0 1 y"}
/// </code>
/// <c>:process</c>, <c>:type</c> and <c>:f</c> are required; <c>:key</c> (string, integer or nil),
/// <c>:value</c> and <c>:time</c> (integer nanoseconds) are optional; other keys (Jepsen's
/// <c>:index</c>, <c>:error</c>) are ignored. Events of the nemesis process are skipped.
/// </summary>
public sealed class EdnEventParser : IHistoryEventParser
{
    public IReadOnlyList<HistoryEvent> Parse(string file, TextReader reader)
    {
        var events = new List<HistoryEvent>();
        int lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            HistoryEvent? parsed = ParseLine(file, lineNumber, line);
            if (parsed is not null)
            {
                events.Add(parsed);
            }
        }
        return events;
    }

    private static HistoryEvent? ParseLine(string file, int lineNumber, string line)
    {
        IReadOnlyDictionary<string, HistoryValue> map;
        try
        {
            var edn = new EdnReader(line);
            map = edn.ReadMap();
            if (!edn.AtEnd)
            {
                throw new FormatException("unexpected text after the map");
            }
        }
        catch (FormatException e)
        {
            throw new HistoryFormatException(file, lineNumber, $"not an EDN event map: {e.Message}");
        }

        HistoryValue process = Required(map, "process", file, lineNumber);
        if (process is KeywordValue { Name: "nemesis" })
        {
            return null;
        }
        if (process is not IntegerValue { Value: var processId })
        {
            throw new HistoryFormatException(file, lineNumber, $":process must be an integer, found {process}");
        }
        if (Required(map, "type", file, lineNumber) is not KeywordValue typeName ||
            !EventTypeNames.TryParse(typeName.Name, out EventType type))
        {
            throw new HistoryFormatException(file, lineNumber, ":type must be one of :invoke, :ok, :fail, :info");
        }
        HistoryValue f = Required(map, "f", file, lineNumber);
        if (f is not KeywordValue functionName || !OperationFunctionNames.TryParse(functionName.Name, out OperationFunction function))
        {
            throw new HistoryFormatException(file, lineNumber, $"unknown operation :f {f}");
        }

        string? key = map.GetValueOrDefault("key", HistoryValue.Nil) switch
        {
            NilValue => null,
            TextValue text => text.Value,
            IntegerValue integer => integer.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
            var other => throw new HistoryFormatException(file, lineNumber, $":key must be a string, an integer or nil, found {other}"),
        };
        long? time = map.GetValueOrDefault("time", HistoryValue.Nil) switch
        {
            NilValue => null,
            IntegerValue integer => integer.Value,
            var other => throw new HistoryFormatException(file, lineNumber, $":time must be an integer, found {other}"),
        };
        HistoryValue value = map.GetValueOrDefault("value", HistoryValue.Nil);

        return new HistoryEvent(processId, type, function, key, value, time, new SourcePosition(file, lineNumber));
    }

    private static HistoryValue Required(IReadOnlyDictionary<string, HistoryValue> map, string key, string file, int line) =>
        map.TryGetValue(key, out HistoryValue? value)
            ? value
            : throw new HistoryFormatException(file, line, $"missing :{key}");
}
