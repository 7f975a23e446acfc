using KvStore.Jepsen.Histories;
using KvStore.Jepsen.Linearizability;
using KvStore.Jepsen.Linearizability.Models;
using static KvStore.Jepsen.Tests.Linearizability.TestHistories;

namespace KvStore.Jepsen.Tests.Linearizability;

public sealed class RegisterModelTests
{
    [Fact]
    public void Read_after_write_sees_the_written_value()
    {
        var history = Log("""
            0 :invoke :write 1
            0 :ok :write 1
            1 :invoke :read nil
            1 :ok :read 1
            """);

        Assert.Equal(Verdict.Linearizable, Check(RegisterModel.Plain, history).Verdict);
    }

    [Fact]
    public void Initial_value_is_nil()
    {
        Assert.Equal(Verdict.Linearizable, Check(RegisterModel.Plain, Log("""
            0 :invoke :read nil
            0 :ok :read nil
            """)).Verdict);
        Assert.Equal(Verdict.NotLinearizable, Check(RegisterModel.Plain, Log("""
            0 :invoke :read nil
            0 :ok :read 0
            """)).Verdict);
    }

    [Fact]
    public void Stale_read_after_a_completed_write_is_not_linearizable_and_the_explanation_names_the_read()
    {
        var history = Log("""
            0 :invoke :write 1
            0 :ok :write 1
            1 :invoke :write 2
            1 :ok :write 2
            2 :invoke :read nil
            2 :ok :read 1
            """);

        CheckResult result = Check(RegisterModel.Plain, history);

        Assert.Equal(Verdict.NotLinearizable, result.Verdict);
        Counterexample counterexample = Assert.Single(result.Partitions).Counterexample!;
        Assert.Equal(["write 1", "write 2"], counterexample.Prefix.Select(p => p.Description));
        Assert.Equal("2", counterexample.StateAfterPrefix);
        DescribedOperation stuck = Assert.Single(counterexample.Stuck);
        Assert.Equal(2, stuck.Operation.Process);
        Assert.Equal("read -> 1", stuck.Description);
        Assert.Equal(5, stuck.Operation.Invoked.Line);
        Assert.Equal(6, stuck.Operation.Completed!.Value.Line);
    }

    [Fact]
    public void Read_concurrent_with_a_write_may_see_the_old_or_the_new_value()
    {
        foreach (string seen in new[] { "nil", "1" })
        {
            var history = Log($"""
                0 :invoke :write 1
                1 :invoke :read nil
                1 :ok :read {seen}
                0 :ok :write 1
                """);
            Assert.Equal(Verdict.Linearizable, Check(RegisterModel.Plain, history).Verdict);
        }
    }

    [Fact]
    public void Once_a_concurrent_read_sees_the_new_value_a_later_read_cannot_see_the_old_one()
    {
        var history = Log("""
            0 :invoke :write 1
            1 :invoke :read nil
            1 :ok :read 1
            2 :invoke :read nil
            2 :ok :read nil
            0 :ok :write 1
            """);

        CheckResult result = Check(RegisterModel.Plain, history);

        Assert.Equal(Verdict.NotLinearizable, result.Verdict);
        var stuck = result.Partitions[0].Counterexample!.Stuck;
        Assert.Contains(stuck, s => s.Operation.Process == 2 && s.Description == "read -> nil");
    }

    [Fact]
    public void Real_time_order_of_non_overlapping_writes_is_respected()
    {
        var sequential = Log("""
            0 :invoke :write 1
            0 :ok :write 1
            1 :invoke :write 2
            1 :ok :write 2
            2 :invoke :read nil
            2 :ok :read 1
            """);
        var overlapping = Log("""
            0 :invoke :write 1
            1 :invoke :write 2
            1 :ok :write 2
            0 :ok :write 1
            2 :invoke :read nil
            2 :ok :read 1
            """);

        Assert.Equal(Verdict.NotLinearizable, Check(RegisterModel.Plain, sequential).Verdict);
        Assert.Equal(Verdict.Linearizable, Check(RegisterModel.Plain, overlapping).Verdict);
    }

    [Theory]
    [InlineData("nil")]
    [InlineData("2")]
    public void A_write_of_unknown_outcome_may_take_effect_or_not(string seen)
    {
        var history = Log($"""
            0 :invoke :write 2
            0 :info :write :timed-out
            1 :invoke :read nil
            1 :ok :read {seen}
            """);

        Assert.Equal(Verdict.Linearizable, Check(RegisterModel.Plain, history).Verdict);
    }

    [Fact]
    public void A_write_of_unknown_outcome_can_take_effect_long_after_its_timeout()
    {
        var history = Log("""
            0 :invoke :write 2
            0 :info :write :timed-out
            1 :invoke :write 1
            1 :ok :write 1
            1 :invoke :read nil
            1 :ok :read 1
            1 :invoke :read nil
            1 :ok :read 2
            """);

        Assert.Equal(Verdict.Linearizable, Check(RegisterModel.Plain, history).Verdict);
    }

    [Fact]
    public void A_write_of_unknown_outcome_cannot_be_undone_once_seen()
    {
        var history = Log("""
            0 :invoke :write 1
            0 :ok :write 1
            1 :invoke :write 2
            1 :info :write :timed-out
            2 :invoke :read nil
            2 :ok :read 2
            2 :invoke :read nil
            2 :ok :read 1
            """);

        CheckResult result = Check(RegisterModel.Plain, history);

        Assert.Equal(Verdict.NotLinearizable, result.Verdict);
        Assert.Contains(result.Partitions[0].Counterexample!.Stuck, s => s.Description == "read -> 1");
    }

    [Fact]
    public void A_write_of_unknown_outcome_cannot_take_effect_before_it_was_invoked()
    {
        var history = Log("""
            1 :invoke :read nil
            1 :ok :read 2
            0 :invoke :write 2
            0 :info :write :timed-out
            """);

        Assert.Equal(Verdict.NotLinearizable, Check(RegisterModel.Plain, history).Verdict);
    }

    [Fact]
    public void An_invocation_that_never_completes_counts_as_unknown_outcome()
    {
        var history = Log("""
            0 :invoke :write 2
            1 :invoke :read nil
            1 :ok :read 2
            """);

        IReadOnlyList<Operation> operations = history;
        Operation write = operations.Single(o => o.Function == OperationFunction.Write);
        Assert.False(write.OutcomeKnown);
        Assert.Null(write.Completed);
        Assert.Equal(Verdict.Linearizable, Check(RegisterModel.Plain, history).Verdict);
    }

    [Fact]
    public void A_failed_write_did_not_happen()
    {
        var history = Log("""
            0 :invoke :write 2
            0 :fail :write 2
            1 :invoke :read nil
            1 :ok :read 2
            """);

        Assert.Equal(Verdict.NotLinearizable, Check(RegisterModel.Plain, history).Verdict);
    }

    [Fact]
    public void Compare_and_set_swaps_only_from_the_expected_value()
    {
        var valid = Log("""
            0 :invoke :write 1
            0 :ok :write 1
            1 :invoke :cas [1 2]
            1 :ok :cas [1 2]
            2 :invoke :read nil
            2 :ok :read 2
            """);
        var invalid = Log("""
            0 :invoke :write 3
            0 :ok :write 3
            1 :invoke :cas [1 2]
            1 :ok :cas [1 2]
            """);

        Assert.Equal(Verdict.Linearizable, Check(RegisterModel.CompareAndSet, valid).Verdict);
        CheckResult result = Check(RegisterModel.CompareAndSet, invalid);
        Assert.Equal(Verdict.NotLinearizable, result.Verdict);
        Assert.Equal("cas 1 -> 2", Assert.Single(result.Partitions[0].Counterexample!.Stuck).Description);
    }

    [Fact]
    public void Compare_and_set_of_unknown_outcome_swaps_if_it_runs_while_the_value_matches()
    {
        var history = Log("""
            0 :invoke :write 1
            0 :ok :write 1
            1 :invoke :cas [1 2]
            1 :info :cas :timed-out
            2 :invoke :read nil
            2 :ok :read 2
            """);
        var tooLate = Log("""
            0 :invoke :write 3
            0 :ok :write 3
            1 :invoke :cas [1 2]
            1 :info :cas :timed-out
            2 :invoke :read nil
            2 :ok :read 2
            """);

        Assert.Equal(Verdict.Linearizable, Check(RegisterModel.CompareAndSet, history).Verdict);
        Assert.Equal(Verdict.NotLinearizable, Check(RegisterModel.CompareAndSet, tooLate).Verdict);
    }

    [Fact]
    public void Plain_register_refuses_compare_and_set_naming_the_line()
    {
        var history = Log("""
            0 :invoke :read nil
            0 :ok :read nil
            1 :invoke :cas [1 2]
            1 :ok :cas [1 2]
            """);

        var error = Assert.Throws<HistoryFormatException>(() => Check(RegisterModel.Plain, history));

        Assert.Equal(3, error.Line);
        Assert.Contains("cas-register", error.Message);
    }

    [Fact]
    public void Keys_are_independent_registers()
    {
        var history = HistoryFile.Parse("keys.jsonl", """
            {"process":0,"type":"invoke","f":"write","key":"a","value":1}
            {"process":0,"type":"ok","f":"write","key":"a","value":1}
            {"process":1,"type":"invoke","f":"write","key":"b","value":2}
            {"process":1,"type":"ok","f":"write","key":"b","value":2}
            {"process":2,"type":"invoke","f":"read","key":"a","value":null}
            {"process":2,"type":"ok","f":"read","key":"a","value":1}
            {"process":2,"type":"invoke","f":"read","key":"b","value":null}
            {"process":2,"type":"ok","f":"read","key":"b","value":1}
            """).Operations;

        CheckResult result = Check(RegisterModel.Plain, history);

        Assert.Equal(Verdict.NotLinearizable, result.Verdict);
        Assert.Equal(["key \"a\"", "key \"b\""], result.Partitions.Select(p => p.Label));
        PartitionResult violated = Assert.Single(result.Partitions, p => p.Verdict == Verdict.NotLinearizable);
        Assert.Equal("key \"b\"", violated.Label);
        Assert.Equal(8, Assert.Single(violated.Counterexample!.Stuck).Operation.Completed!.Value.Line);
    }
}
