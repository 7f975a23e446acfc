namespace KvStore.Server.Tests.Leases;

/// <summary>A clock that moves only when the test says so (timestamps in milliseconds).</summary>
internal sealed class ManualClock : TimeProvider
{
    private long _nowMs = 1_700_000_000_000;

    public override long TimestampFrequency => 1000;

    public override long GetTimestamp() => Interlocked.Read(ref _nowMs);

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(Interlocked.Read(ref _nowMs));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _nowMs, (long)by.TotalMilliseconds);
}
