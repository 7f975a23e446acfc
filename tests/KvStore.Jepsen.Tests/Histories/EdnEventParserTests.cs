using KvStore.Jepsen.Histories;

namespace KvStore.Jepsen.Tests.Histories;

public sealed class EdnEventParserTests
{
    private static IReadOnlyList<HistoryEvent> Parse(string text) =>
        new EdnEventParser().Parse("kv.edn", new StringReader(text));

    [Fact]
    public void Reads_the_jepsen_event_map()
    {
        var events = Parse("""
            {:process 0, :type :invoke, :f :append, :key "4", :value "x 0 1 y"}

            {:process 0 :type :ok :f :append :key "4" :value "x 0 1 y" :time 1234 :index 7}
            {:process :nemesis, :type :info, :f :start, :value nil}
            {:process 1, :type :invoke, :f :get, :key 9, :value nil}
            """);

        Assert.Equal(3, events.Count);
        Assert.Equal(new HistoryEvent(0, EventType.Invoke, OperationFunction.Append, "4", new TextValue("x 0 1 y"), null,
            new SourcePosition("kv.edn", 1)), events[0]);
        Assert.Equal(1234, events[1].Time);
        Assert.Equal(3, events[1].Position.Line);
        Assert.Equal("9", events[2].Key);
        Assert.Equal(HistoryValue.Nil, events[2].Value);
    }

    [Fact]
    public void String_escapes_are_decoded()
    {
        var events = Parse("""{:process 2, :type :invoke, :f :put, :key "a\"b", :value "q\\t\n\u0041\t"}""");

        HistoryEvent e = Assert.Single(events);
        Assert.Equal("a\"b", e.Key);
        Assert.Equal(new TextValue("q\\t\nA\t"), e.Value);
    }

    [Fact]
    public void Values_round_trip_through_their_edn_form()
    {
        HistoryValue value = new ListValue([HistoryValue.Nil, new IntegerValue(-42), new TextValue("a \"q\""), new KeywordValue("ok")]);

        HistoryValue parsed = new EdnReader(value.ToString()).ReadValue();

        Assert.Equal("[nil -42 \"a \\\"q\\\"\" :ok]", value.ToString());
        Assert.Equal(value, parsed);
    }

    [Theory]
    [InlineData("""{:type :invoke, :f :get, :key "1", :value nil}""", "missing :process")]
    [InlineData("""{:process 0, :type :invoke, :f :get, :key "1, :value nil}""", "unterminated string")]
    [InlineData("""{:process 0, :type :invoke, :f :get, :key "1", :value nil""", "unterminated map")]
    [InlineData("""{:process 0, :process 1, :type :invoke, :f :get}""", "appears twice")]
    [InlineData("""{:process 0, :type :begin, :f :get}""", ":type must be one of")]
    [InlineData("""{:process 0, :type :invoke, :f :frob}""", "unknown operation :f :frob")]
    [InlineData("""{:process "0", :type :invoke, :f :get}""", ":process must be an integer")]
    [InlineData("""{:process 0, :type :invoke, :f :get, :value 1.5}""", "not a 64-bit integer")]
    [InlineData("""{:process 0, :type :invoke, :f :get, :value foo}""", "unsupported EDN symbol 'foo'")]
    [InlineData("""{:process 0, :type :invoke, :f :get, :value "\q"}""", "unknown escape \\q")]
    [InlineData("""{:process 0, :type :invoke, :f :get} extra""", "unexpected text after the map")]
    public void Malformed_line_is_reported_with_file_and_line(string line, string reason)
    {
        var error = Assert.Throws<HistoryFormatException>(() => Parse(
            "{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n" +
            "{:process 0, :type :ok, :f :get, :key \"1\", :value \"\"}\n" + line));

        Assert.Equal(3, error.Line);
        Assert.StartsWith("kv.edn:3: ", error.Message);
        Assert.Contains(reason, error.Message);
    }
}
