using KvStore.Jepsen.Histories;

namespace KvStore.Jepsen.Tests.Histories;

public sealed class OperationAssemblerTests
{
    private static IReadOnlyList<Operation> Assemble(string jsonLines) =>
        HistoryFile.Parse("h.jsonl", jsonLines, HistoryFormat.JsonLines).Operations;

    [Fact]
    public void Completions_pair_with_the_same_process_invocation()
    {
        var operations = Assemble("""
            {"process":0,"type":"invoke","f":"write","value":1}
            {"process":1,"type":"invoke","f":"read"}
            {"process":1,"type":"ok","f":"read","value":1}
            {"process":0,"type":"ok","f":"write","value":1}
            """);

        Assert.Equal(2, operations.Count);
        Assert.Equal((0L, OperationFunction.Write, new IntegerValue(1), 0L, 3L), (operations[0].Process, operations[0].Function, (HistoryValue)operations[0].Input, operations[0].CallTime, operations[0].ReturnTime));
        Assert.Equal((1L, OperationFunction.Read, new IntegerValue(1), 1L, 2L), (operations[1].Process, operations[1].Function, (HistoryValue)operations[1].Output, operations[1].CallTime, operations[1].ReturnTime));
        Assert.All(operations, o => Assert.True(o.OutcomeKnown));
    }

    [Fact]
    public void Failed_operations_are_dropped_and_unknown_ones_return_at_infinity()
    {
        var operations = Assemble("""
            {"process":0,"type":"invoke","f":"write","value":1}
            {"process":0,"type":"fail","f":"write","value":1}
            {"process":1,"type":"invoke","f":"write","value":2}
            {"process":1,"type":"info","f":"write","value":2}
            {"process":2,"type":"invoke","f":"write","value":3}
            """);

        Assert.Equal([2, 3], operations.Select(o => ((IntegerValue)o.Input).Value));
        Assert.All(operations, o => Assert.False(o.OutcomeKnown));
        Assert.All(operations, o => Assert.Equal(Operation.Infinity, o.ReturnTime));
        Assert.Equal(4, operations[0].Completed!.Value.Line);
        Assert.Null(operations[1].Completed);
    }

    [Fact]
    public void Recorded_times_order_the_history_when_every_event_has_one()
    {
        var operations = Assemble("""
            {"process":0,"type":"invoke","f":"write","value":1,"time":500}
            {"process":1,"type":"invoke","f":"write","value":2,"time":100}
            {"process":1,"type":"ok","f":"write","value":2,"time":200}
            {"process":0,"type":"ok","f":"write","value":1,"time":900}
            """);

        Assert.Equal([1L, 0L], operations.Select(o => o.Process));
        Assert.Equal((100L, 200L), (operations[0].CallTime, operations[0].ReturnTime));
        Assert.Equal((500L, 900L), (operations[1].CallTime, operations[1].ReturnTime));
    }

    [Theory]
    [InlineData("""{"process":5,"type":"ok","f":"read","value":1}""", "never invoked")]
    [InlineData("""{"process":0,"type":"invoke","f":"read"}""", "invokes again while its write from line 1")]
    [InlineData("""{"process":0,"type":"ok","f":"read","value":1}""", "invoked write at line 1 but completes read")]
    [InlineData("""{"process":0,"type":"ok","f":"write","key":"other","value":1}""", "invoked key \"k\" at line 1 but completes key \"other\"")]
    public void Events_that_do_not_pair_are_reported_with_their_line(string line, string reason)
    {
        var error = Assert.Throws<HistoryFormatException>(() => Assemble(
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"k\",\"value\":1}\n" + line));

        Assert.Equal(2, error.Line);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void Times_on_some_events_only_are_an_error()
    {
        var error = Assert.Throws<HistoryFormatException>(() => Assemble("""
            {"process":0,"type":"invoke","f":"write","value":1,"time":500}
            {"process":1,"type":"invoke","f":"read"}
            """));

        Assert.Equal(2, error.Line);
        Assert.Contains("time every event or none", error.Message);
    }

    [Fact]
    public void A_completion_before_its_invocation_in_time_is_an_error()
    {
        var error = Assert.Throws<HistoryFormatException>(() => Assemble("""
            {"process":0,"type":"invoke","f":"write","value":1,"time":500}
            {"process":0,"type":"ok","f":"write","value":1,"time":400}
            """));

        Assert.Equal(2, error.Line);
        Assert.Contains("precedes its invocation", error.Message);
    }
}
