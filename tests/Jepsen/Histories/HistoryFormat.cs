namespace KvStore.Jepsen.Histories;

/// <summary>The history file formats <c>kvstore-jepsen check</c> reads.</summary>
public enum HistoryFormat
{
    /// <summary>Decide from the file's content (<see cref="HistoryFormatDetector"/>).</summary>
    Auto,

    /// <summary>Jepsen's console log lines (<see cref="JepsenLogParser"/>).</summary>
    JepsenLog,

    /// <summary>Jepsen's EDN events, one map a line (<see cref="EdnEventParser"/>).</summary>
    Edn,

    /// <summary>KvStore's JSON lines (<see cref="JsonLinesParser"/>).</summary>
    JsonLines,
}
