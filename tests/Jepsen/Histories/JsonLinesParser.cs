using System.Globalization;
using System.Text.Json;

namespace KvStore.Jepsen.Histories;

/// <summary>
/// KvStore's own history format: JSON lines, one event per line (specified in
/// docs/linearizability-checker.md):
/// <code>
/// {"process":0,"type":"invoke","f":"cas","key":"k","value":[1,2],"time":123456789}
/// </code>
/// <c>process</c> (integer), <c>type</c> and <c>f</c> (strings) are required; <c>key</c> (string or
/// null), <c>value</c> (null, integer, string or array of these) and <c>time</c> (integer
/// nanoseconds) are optional. Unknown properties are ignored so the harness can add fields
/// (node, error) without breaking older checkers. Blank lines are skipped.
/// </summary>
public sealed class JsonLinesParser : IHistoryEventParser
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
            try
            {
                events.Add(ParseLine(file, lineNumber, line));
            }
            catch (JsonException e)
            {
                throw new HistoryFormatException(file, lineNumber, $"not a JSON event: {Describe(e)}");
            }
        }
        return events;
    }

    private static HistoryEvent ParseLine(string file, int lineNumber, string line)
    {
        using JsonDocument document = JsonDocument.Parse(line);
        JsonElement root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new HistoryFormatException(file, lineNumber, "an event must be a JSON object");
        }

        if (!root.TryGetProperty("process", out JsonElement process) ||
            process.ValueKind != JsonValueKind.Number || !process.TryGetInt64(out long processId))
        {
            throw new HistoryFormatException(file, lineNumber, "\"process\" must be an integer");
        }
        string typeName = RequiredString(root, "type", file, lineNumber);
        if (!EventTypeNames.TryParse(typeName, out EventType type))
        {
            throw new HistoryFormatException(file, lineNumber,
                $"\"type\" '{typeName}' is not one of invoke, ok, fail, info");
        }
        string functionName = RequiredString(root, "f", file, lineNumber);
        if (!OperationFunctionNames.TryParse(functionName, out OperationFunction function))
        {
            throw new HistoryFormatException(file, lineNumber, $"unknown operation \"f\" '{functionName}'");
        }

        string? key = null;
        if (root.TryGetProperty("key", out JsonElement keyElement))
        {
            key = keyElement.ValueKind switch
            {
                JsonValueKind.Null => null,
                JsonValueKind.String => keyElement.GetString(),
                _ => throw new HistoryFormatException(file, lineNumber, "\"key\" must be a string or null"),
            };
        }

        long? time = null;
        if (root.TryGetProperty("time", out JsonElement timeElement) && timeElement.ValueKind != JsonValueKind.Null)
        {
            if (timeElement.ValueKind != JsonValueKind.Number || !timeElement.TryGetInt64(out long nanos))
            {
                throw new HistoryFormatException(file, lineNumber, "\"time\" must be an integer (nanoseconds)");
            }
            time = nanos;
        }

        HistoryValue value = root.TryGetProperty("value", out JsonElement valueElement)
            ? ToValue(valueElement, file, lineNumber)
            : HistoryValue.Nil;

        return new HistoryEvent(processId, type, function, key, value, time, new SourcePosition(file, lineNumber));
    }

    /// <summary>The parser's reason without its own position suffix, which counts lines from 0 within the line.</summary>
    private static string Describe(JsonException e)
    {
        string message = e.Message;
        int suffix = message.IndexOf(" Path: ", StringComparison.Ordinal) is >= 0 and var path ? path
            : message.IndexOf(" LineNumber: ", StringComparison.Ordinal);
        if (suffix >= 0)
        {
            message = message[..suffix];
        }
        return e.BytePositionInLine is { } column ? $"column {column + 1}: {message}" : message;
    }

    private static string RequiredString(JsonElement root, string name, string file, int line) =>
        root.TryGetProperty(name, out JsonElement element) && element.ValueKind == JsonValueKind.String
            ? element.GetString()!
            : throw new HistoryFormatException(file, line, $"\"{name}\" must be a string");

    private static HistoryValue ToValue(JsonElement element, string file, int line)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Null:
                return HistoryValue.Nil;
            case JsonValueKind.String:
                return new TextValue(element.GetString()!);
            case JsonValueKind.Number when element.TryGetInt64(out long integer):
                return new IntegerValue(integer);
            case JsonValueKind.Array:
                var items = new List<HistoryValue>();
                foreach (JsonElement item in element.EnumerateArray())
                {
                    items.Add(ToValue(item, file, line));
                }
                return new ListValue(items);
            default:
                throw new HistoryFormatException(file, line,
                    $"\"value\" must be null, an integer, a string or an array of these, found {element.GetRawText().ToString(CultureInfo.InvariantCulture)}");
        }
    }
}
