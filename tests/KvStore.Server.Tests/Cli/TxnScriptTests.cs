using System.Text;
using KvStore.Client;
using KvStore.Server.Cli.Client;
using WireCompare = KvStore.Client.Protocol.Messages.Compare;

namespace KvStore.Server.Tests.Cli;

public sealed class TxnScriptTests
{
    [Fact]
    public void An_etcdctl_style_script_gives_compares_success_and_failure_operations()
    {
        var (compares, success, failure) = TxnScript.Parse(
            "mod(\"key1\") > \"0\"\nval(\"key1\") = \"value 1\"\n\nput key1 \"overwrote key1\"\nget key1 --prefix\n\nput key1 created\ndel key2 --prev-kv\n");

        Assert.Equal(2, compares.Count);
        var mod = compares[0].ToMessage();
        Assert.Equal((WireCompare.Types.CompareTarget.Mod, WireCompare.Types.CompareResult.Greater, 0L, "key1"), (mod.Target, mod.Result, mod.ModRevision, mod.Key.ToStringUtf8()));
        var value = compares[1].ToMessage();
        Assert.Equal((WireCompare.Types.CompareTarget.Value, "value 1"), (value.Target, value.Value.ToStringUtf8()));
        Assert.Equal("overwrote key1", success[0].ToMessage().RequestPut.Value.ToStringUtf8());
        Assert.Equal("key2", success[1].ToMessage().RequestRange.RangeEnd.ToStringUtf8());
        Assert.Equal("created", failure[0].ToMessage().RequestPut.Value.ToStringUtf8());
        Assert.True(failure[1].ToMessage().RequestDeleteRange.PrevKv);
    }

    [Fact]
    public void An_empty_first_line_means_no_compares()
    {
        var (compares, success, failure) = TxnScript.Parse("\nput k v\n");

        Assert.Empty(compares);
        Assert.Single(success);
        Assert.Empty(failure);
    }

    [Theory]
    [InlineData("ver(\"k\") = \"3\"", CompareTarget.Version, CompareOperator.Equal)]
    [InlineData("version(\"k\") != 3", CompareTarget.Version, CompareOperator.NotEqual)]
    [InlineData("c(\"k\") < \"10\"", CompareTarget.CreateRevision, CompareOperator.Less)]
    [InlineData("create(\"k\") > 1", CompareTarget.CreateRevision, CompareOperator.Greater)]
    [InlineData("lease(\"k\") = \"0\"", CompareTarget.Lease, CompareOperator.Equal)]
    [InlineData("value(\"k\") != 'x y'", CompareTarget.Value, CompareOperator.NotEqual)]
    public void Compare_targets_and_operators_are_recognised(string text, CompareTarget target, CompareOperator op)
    {
        var condition = TxnScript.ParseCompare(text);

        Assert.Equal((target, op, "k"), (condition.Target, condition.Operator, Encoding.UTF8.GetString(condition.Key.Span)));
    }

    [Theory]
    [InlineData("mod(\"k\") >= \"1\"", "operator '>='")]
    [InlineData("mod(\"k\") > \"one\"", "'one' is not a number")]
    [InlineData("size(\"k\") > 1", "target 'size'")]
    [InlineData("put k", "takes 2 arguments, not 1")]
    [InlineData("get k --wat", "unknown flag --wat")]
    [InlineData("put k \"unclosed", "unclosed quote")]
    [InlineData("watch k", "is not put, get or del")]
    public void Mistakes_are_reported_with_their_line(string line, string expected)
    {
        string script = line.Contains('(', StringComparison.Ordinal) ? line + "\n" : "\n" + line + "\n";

        var error = Assert.Throws<CliUsageException>(() => TxnScript.Parse(script));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.StartsWith($"txn line {(line.Contains('(', StringComparison.Ordinal) ? 1 : 2)}:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_after_the_failure_block_is_refused()
    {
        var error = Assert.Throws<CliUsageException>(() => TxnScript.Parse("\nput a 1\n\nput b 2\n\nput c 3\n"));

        Assert.Contains("txn line 6", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tokenize_keeps_quoted_words_whole_and_honours_escapes() =>
        Assert.Equal(["put", "a key", "say \"hi\"", "it's"], TxnScript.Tokenize("put 'a key' \"say \\\"hi\\\"\" \"it's\""));
}
