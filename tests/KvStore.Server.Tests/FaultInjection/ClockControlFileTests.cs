using KvStore.Server.FaultInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvStore.Server.Tests.FaultInjection;

public sealed class ClockControlFileTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kvstore-clock-" + Guid.NewGuid().ToString("N")[..12]);

    public ClockControlFileTests() => Directory.CreateDirectory(_dir);

    [Fact]
    public void A_control_line_round_trips()
    {
        string line = ClockControlFile.Format(TimeSpan.FromSeconds(-12.5), 1.75);
        Assert.Equal("offset-ms=-12500 rate=1.75", line);
        Assert.Equal((TimeSpan.FromMilliseconds(-12500), 1.75), ClockControlFile.Parse(line + "\n", "x"));
    }

    [Theory]
    [InlineData("offset-ms=5")]
    [InlineData("rate=2")]
    [InlineData("offset-ms=five rate=2")]
    [InlineData("offset-ms=5 rate=0")]
    [InlineData("offset-ms=5 rate=2 speed=3")]
    public void A_bad_control_line_is_refused_naming_the_file(string line)
    {
        var e = Assert.Throws<FormatException>(() => ClockControlFile.Parse(line, "/x/clock"));
        Assert.Contains("/x/clock", e.Message);
    }

    [Fact]
    public async Task The_node_side_applies_the_file_the_harness_writes()
    {
        var clock = new SkewedClock();
        ClockControlFile.Write(_dir, TimeSpan.FromSeconds(30), 2.0);

        await using (new ClockControlFile(_dir, clock, NullLogger.Instance))
        {
            Assert.Equal(TimeSpan.FromSeconds(30), clock.Offset);
            Assert.Equal(2.0, clock.Rate);

            ClockControlFile.Write(_dir, TimeSpan.Zero, 1.0);
            DateTime deadline = DateTime.UtcNow.AddSeconds(30);
            while (clock.Rate != 1.0)
            {
                Assert.True(DateTime.UtcNow < deadline, "the reset was not applied within 30 s");
                await Task.Delay(50);
            }

            Assert.Equal(TimeSpan.Zero, clock.Offset);
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
