using System.Text.Json;

namespace KvStore.Server.Tests.Cli;

/// <summary>The CLI against a real three-node cluster of `kvstore` processes.</summary>
[Collection(KvStoreProcessCollection.Name)]
public sealed class ThreeNodeClusterTests : IClassFixture<ClusterUpFixture>
{
    private readonly ClusterUpFixture _cluster;

    public ThreeNodeClusterTests(ClusterUpFixture cluster) => _cluster = cluster;

    [Fact]
    public async Task Status_lists_three_members_and_exactly_one_leader()
    {
        var status = await CliProcess.RunAsync(null, "status", "-o", "json", "--endpoints", string.Join(",", _cluster.Endpoints), "--command-timeout", CliProcess.CommandTimeoutSeconds);
        using var json = JsonDocument.Parse(status.Stdout);

        var rows = json.RootElement.EnumerateArray().ToArray();
        Assert.Equal(0, status.ExitCode);
        Assert.Equal(3, rows.Length);
        Assert.Single(rows, r => r.GetProperty("is_leader").GetBoolean());
        Assert.Single(rows.Select(r => r.GetProperty("leader").GetString()).Distinct());
    }
}
