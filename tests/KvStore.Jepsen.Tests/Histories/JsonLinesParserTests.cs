using KvStore.Jepsen.Histories;

namespace KvStore.Jepsen.Tests.Histories;

public sealed class JsonLinesParserTests
{
    private static IReadOnlyList<HistoryEvent> Parse(string text) =>
        new JsonLinesParser().Parse("run.jsonl", new StringReader(text));

    [Fact]
    public void Reads_our_event_format()
    {
        var events = Parse("""
            {"process":0,"type":"invoke","f":"cas","key":"k","value":[1,null],"time":100}
            {"process":0,"type":"ok","f":"cas","key":"k","value":[1,null],"time":250,"node":"n2"}
            {"process":1,"type":"invoke","f":"read","key":null,"value":null}
            {"process":1,"type":"info","f":"read"}
            """);

        Assert.Equal(4, events.Count);
        Assert.Equal(new HistoryEvent(0, EventType.Invoke, OperationFunction.Cas, "k",
            new ListValue([new IntegerValue(1), HistoryValue.Nil]), 100, new SourcePosition("run.jsonl", 1)), events[0]);
        Assert.Equal(250, events[1].Time);
        Assert.Null(events[2].Key);
        Assert.Null(events[2].Time);
        Assert.Equal(EventType.Info, events[3].Type);
        Assert.Equal(HistoryValue.Nil, events[3].Value);
    }

    [Theory]
    [InlineData("""{"process":0,"type":"invoke","f":"read",}""", "not a JSON event")]
    [InlineData("""[1,2]""", "must be a JSON object")]
    [InlineData("""{"type":"invoke","f":"read"}""", "\"process\" must be an integer")]
    [InlineData("""{"process":1.5,"type":"invoke","f":"read"}""", "\"process\" must be an integer")]
    [InlineData("""{"process":0,"type":"begin","f":"read"}""", "'begin' is not one of")]
    [InlineData("""{"process":0,"type":"invoke"}""", "\"f\" must be a string")]
    [InlineData("""{"process":0,"type":"invoke","f":"frob"}""", "unknown operation \"f\" 'frob'")]
    [InlineData("""{"process":0,"type":"invoke","f":"read","key":3}""", "\"key\" must be a string or null")]
    [InlineData("""{"process":0,"type":"invoke","f":"write","value":{"a":1}}""", "\"value\" must be null, an integer")]
    [InlineData("""{"process":0,"type":"invoke","f":"write","time":"now"}""", "\"time\" must be an integer")]
    public void Malformed_line_is_reported_with_file_and_line(string line, string reason)
    {
        var error = Assert.Throws<HistoryFormatException>(() => Parse(
            "{\"process\":9,\"type\":\"invoke\",\"f\":\"read\"}\n\n" + line));

        Assert.Equal(3, error.Line);
        Assert.StartsWith("run.jsonl:3: ", error.Message);
        Assert.Contains(reason, error.Message);
    }
}
