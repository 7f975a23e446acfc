namespace KvStore.Benchmarks.Storage;

/// <summary>One workload on one engine: operations done, wall time, and any wrong answer seen.</summary>
/// <param name="Errors">Lookups that returned a wrong answer (a missing key, a stale value, a phantom key); must be 0.</param>
public sealed record WorkloadResult(Workload Workload, long Ops, TimeSpan Elapsed, long Errors)
{
    public double OpsPerSecond => Ops / Elapsed.TotalSeconds;
}
