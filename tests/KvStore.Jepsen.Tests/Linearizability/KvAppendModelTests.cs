using KvStore.Jepsen.Histories;
using KvStore.Jepsen.Linearizability;
using KvStore.Jepsen.Linearizability.Models;
using static KvStore.Jepsen.Tests.Linearizability.TestHistories;

namespace KvStore.Jepsen.Tests.Linearizability;

public sealed class KvAppendModelTests
{
    [Fact]
    public void Get_returns_the_appends_in_order()
    {
        var history = Edn("""
            {:process 0, :type :invoke, :f :append, :key "k", :value "a"}
            {:process 0, :type :ok, :f :append, :key "k", :value "a"}
            {:process 0, :type :invoke, :f :append, :key "k", :value "b"}
            {:process 0, :type :ok, :f :append, :key "k", :value "b"}
            {:process 1, :type :invoke, :f :get, :key "k", :value nil}
            {:process 1, :type :ok, :f :get, :key "k", :value "ab"}
            """);

        Assert.Equal(Verdict.Linearizable, Check(KvAppendModel.Instance, history).Verdict);
    }

    [Fact]
    public void Get_in_the_wrong_order_is_not_linearizable_and_names_the_get()
    {
        var history = Edn("""
            {:process 0, :type :invoke, :f :append, :key "k", :value "a"}
            {:process 0, :type :ok, :f :append, :key "k", :value "a"}
            {:process 0, :type :invoke, :f :append, :key "k", :value "b"}
            {:process 0, :type :ok, :f :append, :key "k", :value "b"}
            {:process 1, :type :invoke, :f :get, :key "k", :value nil}
            {:process 1, :type :ok, :f :get, :key "k", :value "ba"}
            """);

        CheckResult result = Check(KvAppendModel.Instance, history);

        Assert.Equal(Verdict.NotLinearizable, result.Verdict);
        PartitionResult part = Assert.Single(result.Partitions);
        Assert.Equal("key \"k\"", part.Label);
        Assert.Equal("\"ab\"", part.Counterexample!.StateAfterPrefix);
        DescribedOperation stuck = Assert.Single(part.Counterexample.Stuck);
        Assert.Equal("get -> \"ba\"", stuck.Description);
        Assert.Equal(1, stuck.Operation.Process);
        Assert.Equal(5, stuck.Operation.Invoked.Line);
    }

    [Theory]
    [InlineData("ab")]
    [InlineData("ba")]
    public void Concurrent_appends_may_land_in_either_order(string seen)
    {
        var history = Edn($$"""
            {:process 0, :type :invoke, :f :append, :key "k", :value "a"}
            {:process 1, :type :invoke, :f :append, :key "k", :value "b"}
            {:process 0, :type :ok, :f :append, :key "k", :value "a"}
            {:process 1, :type :ok, :f :append, :key "k", :value "b"}
            {:process 2, :type :invoke, :f :get, :key "k", :value nil}
            {:process 2, :type :ok, :f :get, :key "k", :value "{{seen}}"}
            """);

        Assert.Equal(Verdict.Linearizable, Check(KvAppendModel.Instance, history).Verdict);
    }

    [Fact]
    public void Put_replaces_and_a_missing_key_reads_as_empty()
    {
        var history = Edn("""
            {:process 0, :type :invoke, :f :get, :key "k", :value nil}
            {:process 0, :type :ok, :f :get, :key "k", :value nil}
            {:process 0, :type :invoke, :f :append, :key "k", :value "a"}
            {:process 0, :type :ok, :f :append, :key "k", :value "a"}
            {:process 0, :type :invoke, :f :put, :key "k", :value "z"}
            {:process 0, :type :ok, :f :put, :key "k", :value "z"}
            {:process 0, :type :invoke, :f :append, :key "k", :value "b"}
            {:process 0, :type :ok, :f :append, :key "k", :value "b"}
            {:process 1, :type :invoke, :f :get, :key "k", :value nil}
            {:process 1, :type :ok, :f :get, :key "k", :value "zb"}
            """);

        Assert.Equal(Verdict.Linearizable, Check(KvAppendModel.Instance, history).Verdict);
    }

    [Theory]
    [InlineData("a", true)]
    [InlineData("ab", true)]
    [InlineData("b", false)]
    public void An_append_of_unknown_outcome_may_or_may_not_be_applied(string seen, bool linearizable)
    {
        var history = Edn($$"""
            {:process 0, :type :invoke, :f :append, :key "k", :value "a"}
            {:process 0, :type :ok, :f :append, :key "k", :value "a"}
            {:process 1, :type :invoke, :f :append, :key "k", :value "b"}
            {:process 1, :type :info, :f :append, :key "k", :value "b"}
            {:process 2, :type :invoke, :f :get, :key "k", :value nil}
            {:process 2, :type :ok, :f :get, :key "k", :value "{{seen}}"}
            """);

        Verdict expected = linearizable ? Verdict.Linearizable : Verdict.NotLinearizable;
        Assert.Equal(expected, Check(KvAppendModel.Instance, history).Verdict);
    }

    [Fact]
    public void Keys_are_checked_independently()
    {
        var history = Edn("""
            {:process 0, :type :invoke, :f :append, :key "x", :value "1"}
            {:process 0, :type :ok, :f :append, :key "x", :value "1"}
            {:process 1, :type :invoke, :f :append, :key "y", :value "2"}
            {:process 1, :type :ok, :f :append, :key "y", :value "2"}
            {:process 2, :type :invoke, :f :get, :key "x", :value nil}
            {:process 2, :type :ok, :f :get, :key "x", :value "1"}
            {:process 2, :type :invoke, :f :get, :key "y", :value nil}
            {:process 2, :type :ok, :f :get, :key "y", :value "2"}
            """);

        CheckResult result = Check(KvAppendModel.Instance, history);

        Assert.Equal(Verdict.Linearizable, result.Verdict);
        Assert.Equal(2, result.Partitions.Count);
        Assert.All(result.Partitions, p => Assert.Equal(2, p.OperationCount));
    }

    [Fact]
    public void Append_of_a_non_string_is_refused_naming_the_line()
    {
        var history = Edn("""
            {:process 0, :type :invoke, :f :get, :key "x", :value nil}
            {:process 0, :type :ok, :f :get, :key "x", :value ""}
            {:process 0, :type :invoke, :f :append, :key "x", :value 7}
            {:process 0, :type :ok, :f :append, :key "x", :value 7}
            """);

        var error = Assert.Throws<HistoryFormatException>(() => Check(KvAppendModel.Instance, history));

        Assert.Equal(3, error.Line);
        Assert.Contains("append takes a string", error.Message);
    }
}
