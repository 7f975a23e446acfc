using System.Text.Json;
using KvStore.Client;
using KvStore.Server.Cli.Client;

namespace KvStore.Server.Tests.Cli;

public sealed class CliOutputTests
{
    private static readonly KvResponseHeader Header = new(0x1c, 0x8b, 42, 3);

    private static KvPair Kv(string key, string value, long mod = 5) =>
        new(System.Text.Encoding.UTF8.GetBytes(key), System.Text.Encoding.UTF8.GetBytes(value), 2, mod, 3, 0);

    private static string Print(bool json, Action<CliOutput> print)
    {
        var writer = new StringWriter { NewLine = "\n" };
        print(new CliOutput(writer, json));
        return writer.ToString();
    }

    [Fact]
    public void A_get_prints_each_key_then_its_value_like_etcdctl()
    {
        var result = new RangeResult(Header, [Kv("a", "1"), Kv("b", "2")], false, 2);

        Assert.Equal("a\n1\nb\n2\n", Print(false, o => o.Range(result, keysOnly: false, countOnly: false)));
        Assert.Equal("a\nb\n", Print(false, o => o.Range(result, keysOnly: true, countOnly: false)));
        Assert.Equal("2\n", Print(false, o => o.Range(result with { Kvs = [] }, keysOnly: false, countOnly: true)));
    }

    [Fact]
    public void Json_output_is_one_object_with_the_revision_and_the_pairs()
    {
        var text = Print(true, o => o.Range(new RangeResult(Header, [Kv("a", "1", mod: 9)], true, 4), false, false));

        Assert.Single(text.TrimEnd('\n').Split('\n'));
        using var json = JsonDocument.Parse(text);
        Assert.Equal(42, json.RootElement.GetProperty("header").GetProperty("revision").GetInt64());
        var kv = json.RootElement.GetProperty("kvs")[0];
        Assert.Equal(("a", "1", 9L), (kv.GetProperty("key").GetString(), kv.GetProperty("value").GetString(), kv.GetProperty("mod_revision").GetInt64()));
        Assert.True(json.RootElement.GetProperty("more").GetBoolean());
        Assert.Equal(4, json.RootElement.GetProperty("count").GetInt64());
    }

    [Fact]
    public void A_put_prints_OK_and_the_previous_pair_when_asked()
    {
        Assert.Equal("OK\n", Print(false, o => o.Put(new PutResult(Header, null))));
        Assert.Equal("OK\nk\nold\n", Print(false, o => o.Put(new PutResult(Header, Kv("k", "old")))));
    }

    [Fact]
    public void A_txn_prints_its_branch_then_each_result()
    {
        var result = new TxnResult(Header, false, [new TxnOpResult(null, new RangeResult(Header, [Kv("k", "v")], false, 1), null, null)]);

        Assert.Equal("FAILURE\n\nk\nv\n", Print(false, o => o.Txn(result)));
    }

    [Fact]
    public void Status_is_a_table_with_a_row_per_endpoint_and_the_error_of_one_that_did_not_answer()
    {
        var status = new MemberStatus("127.0.0.1:2379", "n1", 0xabc, 1, 0xabc, true, false, 4, 120, 119, 77, 3 * 1024 * 1024, "1.0", []);

        var lines = Print(false, o => o.Status([("127.0.0.1:2379", status, null), ("127.0.0.1:2381", null, "connection refused")])).TrimEnd('\n').Split('\n');

        Assert.Equal(3, lines.Length);
        Assert.Equal(["ENDPOINT", "NAME", "ID", "LEADER", "TERM", "COMMIT", "APPLIED", "REVISION", "DB", "SIZE", "ERRORS"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["127.0.0.1:2379", "n1", "0000000000000abc", "true", "4", "120", "119", "77", "3.0", "MB"], lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.EndsWith("connection refused", lines[2], StringComparison.Ordinal);
    }
}
