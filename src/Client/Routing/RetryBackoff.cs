namespace KvStore.Client.Routing;

/// <summary>
/// Exponential backoff with "equal jitter" (half the step fixed, half random): retries of many
/// clients after one leader change spread out instead of arriving together, while no retry
/// comes sooner than half its step.
/// </summary>
internal sealed class RetryBackoff
{
    private readonly TimeSpan _min;
    private readonly TimeSpan _max;

    public RetryBackoff(TimeSpan min, TimeSpan max)
    {
        _min = min;
        _max = max;
    }

    /// <summary>The delay before retry number <paramref name="attempt"/> (0 for the first retry).</summary>
    public TimeSpan Delay(int attempt)
    {
        double step = _min.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30));
        step = Math.Min(step, _max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds((step / 2) + (Random.Shared.NextDouble() * step / 2));
    }
}
