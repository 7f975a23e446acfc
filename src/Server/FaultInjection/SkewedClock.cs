namespace KvStore.Server.FaultInjection;

/// <summary>
/// A <see cref="TimeProvider"/> whose wall clock can be set off true time and whose pace can be
/// changed at run time: the clock nemesis of the fault-injection harness (issue 6). Only
/// <c>kvstore serve --fault-injection-dir</c> creates one; a production node reads the system clock.
/// </summary>
/// <remarks>
/// The two clocks behave as on a real machine whose administrator (or NTP, or a hypervisor) misbehaves:
/// <list type="bullet">
/// <item>The monotonic clock (<see cref="GetTimestamp"/>, which Raft ticks, timeouts and lease timers
/// count) never jumps and never goes back; <see cref="Rate"/> speeds it up or slows it down. It is
/// continuous across rate changes.</item>
/// <item>The wall clock (<see cref="GetUtcNow"/>, which stamps commands) is true time plus
/// <see cref="Offset"/> at the moment of each <see cref="Set"/>, and runs at <see cref="Rate"/> from
/// there. <c>Set(0, 1)</c> puts it back on true time.</item>
/// <item>Timers are scaled by the rate in force when they are created or changed.</item>
/// </list>
/// </remarks>
public sealed class SkewedClock : TimeProvider
{
    /// <summary>Rates outside this range are refused: a node whose clock stops or races is not a skew but a different fault.</summary>
    public const double MinRate = 0.1;

    public const double MaxRate = 10;

    private readonly TimeProvider _real;
    private readonly object _setLock = new();
    private Anchor _anchor;

    // The largest timestamp handed out: a reader still holding the previous anchor must not see a
    // later reader's value go backwards when the rate drops.
    private long _lastTimestamp;

    public SkewedClock(TimeProvider? real = null)
    {
        _real = real ?? System;
        long now = _real.GetTimestamp();
        _anchor = new Anchor(now, now, _real.GetUtcNow(), 1.0, TimeSpan.Zero);
    }

    /// <summary>How far the wall clock was set from true time by the last <see cref="Set"/>.</summary>
    public TimeSpan Offset => Volatile.Read(ref _anchor).Offset;

    /// <summary>Seconds of this clock per real second.</summary>
    public double Rate => Volatile.Read(ref _anchor).Rate;

    public override long TimestampFrequency => _real.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => _real.LocalTimeZone;

    /// <summary>Sets the wall clock to true time plus <paramref name="offset"/> and both clocks' pace to <paramref name="rate"/>.</summary>
    public void Set(TimeSpan offset, double rate)
    {
        if (!(rate >= MinRate && rate <= MaxRate))
        {
            throw new ArgumentOutOfRangeException(nameof(rate), rate, $"a clock rate must be between {MinRate} and {MaxRate}");
        }

        lock (_setLock)
        {
            long real = _real.GetTimestamp();
            Anchor current = Volatile.Read(ref _anchor);
            Volatile.Write(ref _anchor, new Anchor(real, current.TimestampAt(real), _real.GetUtcNow() + offset, rate, offset));
        }
    }

    public override long GetTimestamp()
    {
        long value = Volatile.Read(ref _anchor).TimestampAt(_real.GetTimestamp());
        long last = Volatile.Read(ref _lastTimestamp);
        while (value > last)
        {
            long seen = Interlocked.CompareExchange(ref _lastTimestamp, value, last);
            if (seen == last)
            {
                return value;
            }

            last = seen;
        }

        return last;
    }

    public override DateTimeOffset GetUtcNow()
    {
        Anchor anchor = Volatile.Read(ref _anchor);
        long elapsed = _real.GetTimestamp() - anchor.Real;
        return anchor.Wall + TimeSpan.FromSeconds(elapsed * anchor.Rate / _real.TimestampFrequency);
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        return new ScaledTimer(this, _real.CreateTimer(callback, state, ToReal(dueTime), ToReal(period)));
    }

    /// <summary>Real time that this clock will count as <paramref name="span"/> at the current rate.</summary>
    private TimeSpan ToReal(TimeSpan span) =>
        span == Timeout.InfiniteTimeSpan || span <= TimeSpan.Zero ? span : TimeSpan.FromTicks(Math.Max(1, (long)(span.Ticks / Rate)));

    /// <summary>From real timestamp <paramref name="Real"/> on, the clock reads <paramref name="Virtual"/> plus the real time since, times the rate.</summary>
    private sealed record Anchor(long Real, long Virtual, DateTimeOffset Wall, double Rate, TimeSpan Offset)
    {
        public long TimestampAt(long real) => Virtual + (long)((real - Real) * Rate);
    }

    private sealed class ScaledTimer(SkewedClock clock, ITimer inner) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(clock.ToReal(dueTime), clock.ToReal(period));

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
