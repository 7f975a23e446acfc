using KvStore.Jepsen.Histories;

namespace KvStore.Jepsen.Tests.Histories;

public sealed class JepsenLogParserTests
{
    private static IReadOnlyList<HistoryEvent> Parse(string log) =>
        new JepsenLogParser().Parse("etcd.log", new StringReader(log));

    [Fact]
    public void Reads_every_field_and_skips_other_log_lines()
    {
        var events = Parse("""
            2017-03-11 INFO  jepsen.core - Running test
            INFO  jepsen.util - 3	:invoke	:cas	[3 0]
            INFO  jepsen.util - 3   :ok     :cas    [3 0]
            INFO  jepsen.util - 0	:invoke	:read	nil
            INFO  jepsen.util - 0	:ok	:read	nil
            INFO  jepsen.util - :nemesis	:info	:start	nil
            INFO  jepsen.util - 4	:info	:write	:timed-out
            """);

        Assert.Equal(5, events.Count);
        Assert.Equal(new HistoryEvent(3, EventType.Invoke, OperationFunction.Cas, null,
            new ListValue([new IntegerValue(3), new IntegerValue(0)]), null, new SourcePosition("etcd.log", 2)), events[0]);
        Assert.Equal(EventType.Ok, events[1].Type);
        Assert.Equal(HistoryValue.Nil, events[3].Value);
        Assert.Equal(new KeywordValue("timed-out"), events[4].Value);
        Assert.Equal(7, events[4].Position.Line);
    }

    [Theory]
    [InlineData("INFO  jepsen.util - x :invoke :read nil", "process 'x' is not an integer")]
    [InlineData("INFO  jepsen.util - 1 :started :read nil", "type ':started'")]
    [InlineData("INFO  jepsen.util - 1 :invoke :frob nil", "unknown operation ':frob'")]
    [InlineData("INFO  jepsen.util - 1 :invoke :cas [1 2", "unterminated vector")]
    [InlineData("INFO  jepsen.util - 1 :invoke", "expected '<process> :<type> :<f> <value>'")]
    [InlineData("INFO  jepsen.util 1 :invoke :read nil", "expected '-'")]
    public void Malformed_line_is_reported_with_file_and_line(string line, string reason)
    {
        var error = Assert.Throws<HistoryFormatException>(() => Parse($"INFO  jepsen.util - 0 :invoke :read nil\n{line}"));

        Assert.Equal("etcd.log", error.File);
        Assert.Equal(2, error.Line);
        Assert.StartsWith("etcd.log:2: ", error.Message);
        Assert.Contains(reason, error.Message);
    }
}
