namespace KvStore.Jepsen.Histories;

/// <summary>
/// Recognises a history's format from its first meaningful line: <c>{"</c> opens a JSON event,
/// <c>{:</c> an EDN event map, and a line containing <c>jepsen.util</c> is Jepsen's log. Log files
/// may open with other log lines, so the log is recognised anywhere in the file.
/// </summary>
public static class HistoryFormatDetector
{
    public static HistoryFormat Detect(string file, string content)
    {
        using var reader = new StringReader(content);
        while (reader.ReadLine() is { } line)
        {
            ReadOnlySpan<char> text = line.AsSpan().Trim();
            if (text.IsEmpty)
            {
                continue;
            }
            if (text[0] == '{')
            {
                ReadOnlySpan<char> inner = text[1..].TrimStart();
                if (!inner.IsEmpty && inner[0] == '"')
                {
                    return HistoryFormat.JsonLines;
                }
                if (!inner.IsEmpty && inner[0] == ':')
                {
                    return HistoryFormat.Edn;
                }
            }
            break;
        }
        if (content.Contains("jepsen.util", StringComparison.Ordinal))
        {
            return HistoryFormat.JepsenLog;
        }
        throw new HistoryFormatException(file, 0,
            "cannot tell the history format (expected JSON lines, EDN event maps or Jepsen log lines); pass --format");
    }
}
