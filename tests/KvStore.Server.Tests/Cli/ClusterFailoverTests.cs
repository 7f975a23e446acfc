using KvStore.Client;

namespace KvStore.Server.Tests.Cli;

/// <summary>The SDK against a real three-node cluster whose leader is killed (its own cluster: the kill must not disturb other tests).</summary>
[Collection(KvStoreProcessCollection.Name)]
public sealed class ClusterFailoverTests : IClassFixture<ClusterUpFixture>
{
    private readonly ClusterUpFixture _cluster;

    public ClusterFailoverTests(ClusterUpFixture cluster) => _cluster = cluster;

    [Fact]
    public async Task The_sdk_finds_the_leader_from_followers_and_keeps_writing_after_the_leader_is_killed()
    {
        // Followers first: the client must be redirected by their not-leader hints.
        var endpoints = _cluster.Endpoints.OrderBy(e => e == _cluster.InitialLeader).ToList();
        await using var client = new KvStoreClient(new KvStoreClientOptions { Endpoints = endpoints, RequestTimeout = TimeSpan.FromSeconds(30) });

        var before = await client.PutAsync("failover/k", "before").WaitAsync(CliProcess.HangGuard);
        string leader = client.Leader!;
        _cluster.KillMember(leader);
        var after = await client.PutAsync("failover/k", "after").WaitAsync(CliProcess.HangGuard);
        var read = await client.GetAsync("failover/k").WaitAsync(CliProcess.HangGuard);

        Assert.Contains(leader, _cluster.Endpoints);
        Assert.NotEqual(leader, client.Leader);
        Assert.True(after.Header.Revision > before.Header.Revision);
        Assert.Equal(("after", 2L), (read!.ValueString, read.Version));
    }
}
