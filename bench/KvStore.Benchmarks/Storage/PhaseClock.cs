using System.Diagnostics;

namespace KvStore.Benchmarks.Storage;

/// <summary>
/// Wall time and process CPU time of one phase. CPU time counts every thread, native ones
/// (RocksDB's) included, so it charges an engine for its background work too, and it is less
/// disturbed than wall time when other processes compete for the cores.
/// </summary>
public readonly struct PhaseClock
{
    private readonly long _startTicks;
    private readonly TimeSpan _startCpu;

    private PhaseClock(long startTicks, TimeSpan startCpu)
    {
        _startTicks = startTicks;
        _startCpu = startCpu;
    }

    public static PhaseClock Start() => new(Stopwatch.GetTimestamp(), ProcessCpu());

    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_startTicks);

    public TimeSpan Cpu => ProcessCpu() - _startCpu;

    private static TimeSpan ProcessCpu()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }
}
