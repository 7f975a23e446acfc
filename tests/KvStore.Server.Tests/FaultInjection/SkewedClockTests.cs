using KvStore.Server.FaultInjection;

namespace KvStore.Server.Tests.FaultInjection;

public sealed class SkewedClockTests
{
    [Fact]
    public void At_rate_two_both_clocks_count_two_seconds_per_real_second()
    {
        var real = new ManualTimeProvider();
        var clock = new SkewedClock(real);
        long start = clock.GetTimestamp();
        DateTimeOffset wall = clock.GetUtcNow();

        clock.Set(TimeSpan.Zero, 2.0);
        real.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(TimeSpan.FromSeconds(20), clock.GetElapsedTime(start));
        Assert.Equal(wall + TimeSpan.FromSeconds(20), clock.GetUtcNow());
    }

    [Fact]
    public void An_offset_moves_the_wall_clock_but_never_the_monotonic_one()
    {
        var real = new ManualTimeProvider();
        var clock = new SkewedClock(real);
        long before = clock.GetTimestamp();

        clock.Set(TimeSpan.FromSeconds(-30), 1.0);
        Assert.Equal(real.GetUtcNow() - TimeSpan.FromSeconds(30), clock.GetUtcNow());
        Assert.Equal(before, clock.GetTimestamp());

        clock.Set(TimeSpan.FromMinutes(5), 1.0);
        real.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(real.GetUtcNow() + TimeSpan.FromMinutes(5), clock.GetUtcNow());
        Assert.Equal(TimeSpan.FromSeconds(1), clock.GetElapsedTime(before));

        // Reset: back on true time.
        clock.Set(TimeSpan.Zero, 1.0);
        Assert.Equal(real.GetUtcNow(), clock.GetUtcNow());
    }

    [Fact]
    public void The_monotonic_clock_is_continuous_across_rate_changes()
    {
        var real = new ManualTimeProvider();
        var clock = new SkewedClock(real);
        long start = clock.GetTimestamp();
        clock.Set(TimeSpan.Zero, 0.5);
        real.Advance(TimeSpan.FromSeconds(4));
        clock.Set(TimeSpan.Zero, 2.0);
        real.Advance(TimeSpan.FromSeconds(1));
        clock.Set(TimeSpan.Zero, 1.0);

        Assert.Equal(TimeSpan.FromSeconds(2 + 2), clock.GetElapsedTime(start));
    }

    [Fact]
    public void Timers_wait_real_time_scaled_by_the_rate()
    {
        var real = new ManualTimeProvider();
        var clock = new SkewedClock(real);
        clock.Set(TimeSpan.Zero, 2.0);
        using ITimer timer = clock.CreateTimer(_ => { }, null, TimeSpan.FromSeconds(10), Timeout.InfiniteTimeSpan);
        clock.Set(TimeSpan.Zero, 0.5);
        timer.Change(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3));

        Assert.Equal((TimeSpan.FromSeconds(5), Timeout.InfiniteTimeSpan), real.TimersCreated.Single());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(0.05)]
    [InlineData(11)]
    [InlineData(double.NaN)]
    public void Rates_that_stop_or_race_the_clock_are_refused(double rate)
    {
        var clock = new SkewedClock(new ManualTimeProvider());
        Assert.Throws<ArgumentOutOfRangeException>(() => clock.Set(TimeSpan.Zero, rate));
        Assert.Equal(1.0, clock.Rate);
    }
}
