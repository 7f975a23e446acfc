using System.Diagnostics;
using KvStore.Client;
using KvStore.Server.Tests.Cli;
using KvStore.Server.Tests.Cluster;

namespace KvStore.Server.Tests.Leases;

/// <summary>
/// Leases on a real three-process cluster (1 s election timeout): a client process killed with
/// its lease, leaders killed again and again, and a keep-alive across a leader change.
/// </summary>
/// <remarks>
/// The bounds asserted are the guarantees docs/coordination.md states (TTL plus one election
/// timeout), with a fixed margin for a loaded CI machine; they are not speed measurements.
/// </remarks>
[Collection(ProcessCluster.Collection)]
public sealed class LeaseProcessTests
{
    private static readonly TimeSpan ElectionTimeout = TimeSpan.FromSeconds(1);

    // Scheduling slack on two shared cores: process start, polling, a slow apply.
    private static readonly TimeSpan LoadMargin = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task KillingTheKeepAliveProcessDeletesTheLeasesKeysWithinTtlPlusAnElectionTimeout()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3);
        await using KvStoreClient client = Client(cluster);
        var ttl = TimeSpan.FromSeconds(4);
        Lease lease = await client.Leases.GrantAsync(ttl, keepAlive: false);
        await client.PutAsync("ephemeral/a", "1", new PutOptions { Lease = lease.Id });
        await client.PutAsync("ephemeral/b", "2", new PutOptions { Lease = lease.Id });
        await client.PutAsync("durable", "3");

        using Process keeper = StartCli("lease", "keep-alive", lease.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--endpoints", Endpoints(cluster));
        try
        {
            await KillAfterRenewalsAsync(client, keeper, lease, ttl);
        }
        finally
        {
            if (!keeper.HasExited)
            {
                keeper.Kill();
            }
        }

        var killed = Stopwatch.StartNew();
        while (await client.GetAsync("ephemeral/a") != null || await client.GetAsync("ephemeral/b") != null)
        {
            Assert.True(killed.Elapsed < ttl + ElectionTimeout + LoadMargin, $"the keys outlived their killed client by {killed.Elapsed}");
            await Task.Delay(100);
        }

        Assert.NotNull(await client.GetAsync("durable"));
        Assert.False((await client.Leases.TimeToLiveAsync(lease.Id)).Exists);
    }

    private static async Task KillAfterRenewalsAsync(KvStoreClient client, Process keeper, Lease lease, TimeSpan ttl)
    {
        string? first = await keeper.StandardOutput.ReadLineAsync().WaitAsync(CliProcess.HangGuard);
        Assert.Equal($"lease {lease.Id} kept alive with TTL 4s", first);

        // Alive well past its TTL while the process renews it.
        await Task.Delay(ttl * 1.5);
        Assert.NotNull(await client.GetAsync("ephemeral/a"));

        keeper.Kill();
    }

    [Fact]
    public async Task LeadersKilledAgainAndAgainDoNotKeepAnAbandonedLeaseAlive()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3);
        await using KvStoreClient client = Client(cluster);
        var ttl = TimeSpan.FromSeconds(4);
        Lease lease = await client.Leases.GrantAsync(ttl, keepAlive: false);
        await client.PutAsync("abandoned", "x", new PutOptions { Lease = lease.Id });
        var abandoned = Stopwatch.StartNew();

        // Each leader lives about 1.5 s, far less than the TTL: without the takeover charge every
        // new leader would grant the full record again and the lease would never end.
        int kills = 0;
        while (await client.GetAsync("abandoned") != null)
        {
            int maxKills = (int)(ttl / ElectionTimeout) + 3;
            Assert.True(kills <= maxKills, $"the lease outlived {kills} leader kills ({abandoned.Elapsed}); each takeover should charge an election timeout");
            ClusterNode leader = await cluster.WaitForLeaderAsync();
            await Task.Delay(TimeSpan.FromMilliseconds(1_500));
            leader.Process!.KillNow();
            kills++;
            cluster.Restart(leader);
        }

        Assert.False((await client.Leases.TimeToLiveAsync(lease.Id)).Exists);
    }

    [Fact]
    public async Task AKeptAliveLeaseSurvivesALeaderChange()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3);
        await using KvStoreClient client = Client(cluster);
        await using Lease lease = await client.Leases.GrantAsync(TimeSpan.FromSeconds(6));
        await client.PutAsync("holder", "me", new PutOptions { Lease = lease.Id });

        for (int change = 0; change < 2; change++)
        {
            ClusterNode leader = await cluster.WaitForLeaderAsync();
            leader.Process!.KillNow();
            await cluster.WaitForLeaderAsync();
            await Task.Delay(TimeSpan.FromSeconds(3));
            cluster.Restart(leader);
        }

        // Past a TTL after the last change: renewals found the new leaders.
        await Task.Delay(TimeSpan.FromSeconds(8));
        Assert.False(lease.IsLost, $"lease lost: {lease.LossReason}");
        Assert.True((await client.Leases.TimeToLiveAsync(lease.Id)).Exists);
        Assert.Equal("me", (await client.GetAsync("holder"))?.ValueString);
    }

    private static string Endpoints(ProcessCluster cluster) => string.Join(",", cluster.Nodes.Select(n => n.ClientUrl));

    private static KvStoreClient Client(ProcessCluster cluster) =>
        new(new KvStoreClientOptions { Endpoints = cluster.Nodes.Select(n => n.ClientUrl).ToList(), RequestTimeout = TimeSpan.FromSeconds(30) });

    private static Process StartCli(params string[] arguments)
    {
        ProcessStartInfo info = CliProcess.Executable.StartInfo(arguments);
        info.Environment.Remove("KVSTORE_ENDPOINTS");
        return Process.Start(info) ?? throw new InvalidOperationException("kvstore did not start");
    }
}
