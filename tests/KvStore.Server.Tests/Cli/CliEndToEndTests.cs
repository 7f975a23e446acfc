using System.Text.Json;

namespace KvStore.Server.Tests.Cli;

/// <summary>The client verbs through the real executable against a real one-node cluster.</summary>
[Collection(KvStoreProcessCollection.Name)]
public sealed class CliEndToEndTests : IClassFixture<ServeProcessFixture>
{
    private readonly ServeProcessFixture _server;

    public CliEndToEndTests(ServeProcessFixture server) => _server = server;

    private Task<(int ExitCode, string Stdout, string Stderr)> Run(params string[] arguments) =>
        CliProcess.RunAsync(null, [.. arguments, "--endpoints", _server.Endpoint, "--command-timeout", CliProcess.CommandTimeoutSeconds]);

    [Fact]
    public async Task Put_get_and_del_round_trip_through_the_cli()
    {
        var put = await Run("put", "e2e/greeting", "hello world");
        var get = await Run("get", "e2e/greeting");
        var del = await Run("del", "e2e/", "--prefix");
        var after = await Run("get", "e2e/greeting", "--count-only");

        Assert.Equal((0, "OK\n", string.Empty), put);
        Assert.Equal((0, "e2e/greeting\nhello world\n"), (get.ExitCode, get.Stdout));
        Assert.Equal((0, "1\n"), (del.ExitCode, del.Stdout));
        Assert.Equal((0, "0\n"), (after.ExitCode, after.Stdout));
    }

    [Fact]
    public async Task Json_output_carries_revisions_a_script_can_use()
    {
        await Run("put", "json/k", "v1");
        var put = await Run("put", "json/k", "v2", "--prev-kv", "-o", "json");
        using var json = JsonDocument.Parse(put.Stdout);

        var revision = json.RootElement.GetProperty("header").GetProperty("revision").GetInt64();
        var old = await Run("get", "json/k", "--rev", (revision - 1).ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal("v1", json.RootElement.GetProperty("prev_kv").GetProperty("value").GetString());
        Assert.Equal((0, "json/k\nv1\n"), (old.ExitCode, old.Stdout));
    }

    [Fact]
    public async Task A_txn_read_from_stdin_runs_the_branch_its_compares_choose()
    {
        await Run("put", "txn/k", "old");
        var txn = await CliProcess.RunAsync("val(\"txn/k\") = \"old\"\n\nput txn/k new\n\nget txn/k\n", "txn", "--endpoints", _server.Endpoint, "--command-timeout", CliProcess.CommandTimeoutSeconds);
        var get = await Run("get", "txn/k");

        Assert.Equal((0, "SUCCESS\n\nOK\n", string.Empty), txn);
        Assert.Equal("txn/k\nnew\n", get.Stdout);
    }

    [Fact]
    public async Task Status_shows_the_node_as_leader()
    {
        var status = await Run("status", "-o", "json");
        using var json = JsonDocument.Parse(status.Stdout);

        var row = Assert.Single(json.RootElement.EnumerateArray());
        Assert.Equal(0, status.ExitCode);
        Assert.Equal(("n1", true), (row.GetProperty("name").GetString(), row.GetProperty("is_leader").GetBoolean()));
        Assert.True(row.GetProperty("raft_applied_index").GetUInt64() > 0);
    }

    [Fact]
    public async Task Reading_a_compacted_revision_fails_with_one_line_on_stderr()
    {
        var first = await Run("put", "compact/k", "1", "-o", "json");
        await Run("put", "compact/k", "2");
        long revision = JsonDocument.Parse(first.Stdout).RootElement.GetProperty("header").GetProperty("revision").GetInt64();
        var compact = await Run("compact", (revision + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));

        var old = await Run("get", "compact/k", "--rev", revision.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(0, compact.ExitCode);
        Assert.Equal(1, old.ExitCode);
        Assert.Equal(string.Empty, old.Stdout);
        var line = Assert.Single(old.Stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("kvstore get: ", line, StringComparison.Ordinal);
        Assert.Contains("compacted", line, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task An_unreachable_cluster_fails_with_exit_code_1_and_one_line_naming_the_endpoint()
    {
        var result = await CliProcess.RunAsync(null, "get", "k", "--endpoints", "127.0.0.1:1", "--command-timeout", "1");

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Stderr.TrimEnd('\n').Split('\n'));
        Assert.Contains("127.0.0.1:1", line, StringComparison.Ordinal);
    }
}
