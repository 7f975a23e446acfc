using System.Text;
using System.Text.Json;

namespace KvStore.Jepsen.Run;

/// <summary>
/// Writes client events as they happen, one JSON object per line, in the history format of
/// docs/linearizability-checker.md (<c>process</c>, <c>type</c>, <c>f</c>, <c>key</c>,
/// <c>value</c>, <c>time</c> in run-clock nanoseconds), plus an <c>error</c> field on failures,
/// which the checker ignores. Thread-safe; lines appear in the order events were observed.
/// </summary>
public sealed class HistoryRecorder : IDisposable
{
    private readonly StreamWriter _writer;
    private readonly RunClock _clock;
    private readonly string _workload;
    private readonly List<OperationRecord> _operations = [];
    private readonly object _lock = new();

    public HistoryRecorder(string path, string workload, RunClock clock)
    {
        Path = path;
        _workload = workload;
        _clock = clock;
        _writer = new StreamWriter(path, append: false, new UTF8Encoding(false));
    }

    public string Path { get; }

    public IReadOnlyList<OperationRecord> Operations
    {
        get
        {
            lock (_lock)
            {
                return [.. _operations];
            }
        }
    }

    /// <summary>Records an invocation; returns its time for <see cref="Complete"/>.</summary>
    public long Invoke(int process, string function, string? key, Action<Utf8JsonWriter> writeValue)
    {
        lock (_lock)
        {
            long now = _clock.Nanos;
            Write(process, "invoke", function, key, writeValue, now, null);
            return now;
        }
    }

    public void Complete(int process, string function, string? key, long invokedAt, OperationOutcome outcome, Action<Utf8JsonWriter> writeValue, string? error = null)
    {
        lock (_lock)
        {
            long now = _clock.Nanos;
            string type = outcome switch
            {
                OperationOutcome.Ok => "ok",
                OperationOutcome.Fail => "fail",
                _ => "info",
            };
            Write(process, type, function, key, writeValue, now, error);
            _operations.Add(new OperationRecord(_workload, process, function, invokedAt, now, outcome));
        }
    }

    public static void Null(Utf8JsonWriter writer) => writer.WriteNullValue();

    public void Dispose()
    {
        lock (_lock)
        {
            _writer.Dispose();
        }
    }

    private void Write(int process, string type, string function, string? key, Action<Utf8JsonWriter> writeValue, long time, string? error)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("process", process);
            json.WriteString("type", type);
            json.WriteString("f", function);
            if (key is not null)
            {
                json.WriteString("key", key);
            }

            json.WritePropertyName("value");
            writeValue(json);
            json.WriteNumber("time", time);
            if (error is not null)
            {
                json.WriteString("error", error);
            }

            json.WriteEndObject();
        }

        _writer.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
        _writer.Flush();
    }
}
