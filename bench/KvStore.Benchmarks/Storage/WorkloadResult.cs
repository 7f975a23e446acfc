namespace KvStore.Benchmarks.Storage;

/// <summary>One workload on one engine: operations done, wall time, CPU time, and any wrong answer seen.</summary>
/// <param name="Cpu">CPU time of every thread of the process during the phase (the engine's background threads included).</param>
/// <param name="Errors">Lookups that returned a wrong answer (a missing key, a stale value, a phantom key); must be 0.</param>
public sealed record WorkloadResult(Workload Workload, long Ops, TimeSpan Elapsed, TimeSpan Cpu, long Errors)
{
    public double OpsPerSecond => Ops / Elapsed.TotalSeconds;

    public double CpuMicrosecondsPerOp => Cpu.TotalMilliseconds * 1000 / Ops;
}
