using System.Globalization;
using Microsoft.Extensions.Logging;

namespace KvStore.Server.FaultInjection;

/// <summary>
/// The fault-injection harness's handle on a node's clock: the node polls <c>DIR/clock</c> and applies
/// what it says to its <see cref="SkewedClock"/>. Exists only under <c>kvstore serve --fault-injection-dir DIR</c>.
/// </summary>
/// <remarks>
/// File format (UTF-8, one line, written whole by renaming a temporary file over it):
/// <code>offset-ms=&lt;integer&gt; rate=&lt;decimal&gt;</code>
/// e.g. <c>offset-ms=-30000 rate=1.5</c>: the wall clock 30 s behind true time, both clocks running 1.5x.
/// A missing file leaves the clock as it is; <c>offset-ms=0 rate=1</c> puts it back on true time.
/// A file that does not parse is reported in the log once and otherwise ignored.
/// </remarks>
public sealed class ClockControlFile : IAsyncDisposable
{
    public const string FileName = "clock";

    /// <summary>How often the file is read: well under a fault interval, and cheap (one small read).</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private readonly string _path;
    private readonly SkewedClock _clock;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _polling;
    private string? _applied;

    public ClockControlFile(string directory, SkewedClock clock, ILogger logger)
    {
        _path = Path.Combine(directory, FileName);
        _clock = clock;
        _logger = logger;
        Poll();
        _polling = Task.Run(() => PollAsync(_stopping.Token));
    }

    /// <summary>The line that sets <paramref name="offset"/> and <paramref name="rate"/>.</summary>
    public static string Format(TimeSpan offset, double rate) =>
        string.Create(CultureInfo.InvariantCulture, $"offset-ms={(long)offset.TotalMilliseconds} rate={rate:0.###}");

    /// <summary>Parses a control line; throws <see cref="FormatException"/> naming the file.</summary>
    public static (TimeSpan Offset, double Rate) Parse(string text, string path)
    {
        long? offsetMs = null;
        double? rate = null;
        foreach (string part in text.Split([' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.StartsWith("offset-ms=", StringComparison.Ordinal) && long.TryParse(part.AsSpan(10), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long ms))
            {
                offsetMs = ms;
            }
            else if (part.StartsWith("rate=", StringComparison.Ordinal) && double.TryParse(part.AsSpan(5), NumberStyles.Float, CultureInfo.InvariantCulture, out double r)
                && r is >= SkewedClock.MinRate and <= SkewedClock.MaxRate)
            {
                rate = r;
            }
            else
            {
                throw new FormatException($"{path}: '{part}' is not offset-ms=<integer> or rate=<{SkewedClock.MinRate}..{SkewedClock.MaxRate}>");
            }
        }

        if (offsetMs is null || rate is null)
        {
            throw new FormatException($"{path}: a clock control line needs both offset-ms= and rate= (got '{text.Trim()}')");
        }

        return (TimeSpan.FromMilliseconds(offsetMs.Value), rate.Value);
    }

    /// <summary>Writes the control file atomically (the harness's side).</summary>
    public static void Write(string directory, TimeSpan offset, double rate)
    {
        string path = Path.Combine(directory, FileName);
        string temp = path + ".tmp";
        File.WriteAllText(temp, Format(offset, rate) + "\n");
        File.Move(temp, path, overwrite: true);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _polling.ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task PollAsync(CancellationToken cancellationToken)
    {
        // Real time on purpose: the poll must not slow down with the clock it controls.
        using var timer = new PeriodicTimer(PollInterval, TimeProvider.System);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                Poll();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private void Poll()
    {
        string text;
        try
        {
            text = File.ReadAllText(_path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return;
        }

        if (text == _applied)
        {
            return;
        }

        _applied = text;
        try
        {
            (TimeSpan offset, double rate) = Parse(text, _path);
            _clock.Set(offset, rate);
            _logger.LogWarning("fault injection: clock set to offset {OffsetMs} ms, rate {Rate}", (long)offset.TotalMilliseconds, rate);
        }
        catch (FormatException ex)
        {
            _logger.LogError("fault injection: {Message}", ex.Message);
        }
    }
}
