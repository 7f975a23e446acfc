using System.Diagnostics;

namespace KvStore.Jepsen.Run;

/// <summary>The run's one monotonic clock: history events and fault windows are stamped by it, in
/// nanoseconds since the run started, so the checker's real-time order and the plots agree.</summary>
public sealed class RunClock
{
    private readonly long _start = Stopwatch.GetTimestamp();

    public long Nanos => (long)(Stopwatch.GetElapsedTime(_start).Ticks * 100L);

    public double Seconds => Stopwatch.GetElapsedTime(_start).TotalSeconds;
}
