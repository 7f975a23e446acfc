using KvStore.Client;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Server.Tests.Leases;

/// <summary><see cref="KvStoreClient.Leases"/> against a real node: grants, automatic keep-alive, expiry, loss reports, sequential puts.</summary>
public sealed class LeaseSdkTests(SoloNodeFixture fixture) : IClassFixture<SoloNodeFixture>
{
    private readonly KvStoreClient _client = fixture.Client;

    [Fact]
    public async Task AKeptAliveLeaseOutlivesItsTtlAndDisposingItDeletesItsKeys()
    {
        Lease lease = await _client.Leases.GrantAsync(TimeSpan.FromSeconds(3));
        await _client.PutAsync("sdk/kept/a", "1", new PutOptions { Lease = lease.Id });
        await _client.PutAsync("sdk/kept/b", "2", new PutOptions { Lease = lease.Id });

        await Task.Delay(TimeSpan.FromSeconds(5));

        Assert.NotNull(await _client.GetAsync("sdk/kept/a"));
        Assert.False(lease.IsLost);
        LeaseTimeToLive ttl = await _client.Leases.TimeToLiveAsync(lease.Id, keys: true);
        Assert.True(ttl.Exists);
        Assert.Equal(TimeSpan.FromSeconds(3), ttl.GrantedTtl);
        Assert.InRange(ttl.Remaining, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3));
        Assert.Equal(["sdk/kept/a", "sdk/kept/b"], ttl.Keys.Select(k => System.Text.Encoding.UTF8.GetString(k.Span)));
        Assert.Contains(lease.Id, await _client.Leases.ListAsync());

        await lease.DisposeAsync();

        Assert.Null(await _client.GetAsync("sdk/kept/a"));
        Assert.Null(await _client.GetAsync("sdk/kept/b"));
        Assert.DoesNotContain(lease.Id, await _client.Leases.ListAsync());
        Assert.False((await _client.Leases.TimeToLiveAsync(lease.Id)).Exists);
    }

    [Fact]
    public async Task ALeaseNobodyRenewsExpiresAndTakesItsKeys()
    {
        Lease lease = await _client.Leases.GrantAsync(TimeSpan.FromSeconds(3), keepAlive: false);
        await _client.PutAsync("sdk/abandoned", "x", new PutOptions { Lease = lease.Id });
        DateTime granted = DateTime.UtcNow;

        while (await _client.GetAsync("sdk/abandoned") != null)
        {
            Assert.True(DateTime.UtcNow - granted < TimeSpan.FromSeconds(10), "the key outlived its 3 s lease by far");
            await Task.Delay(100);
        }

        Assert.True(DateTime.UtcNow - granted >= TimeSpan.FromSeconds(2.5), "the key was deleted before its lease could have expired");
        Assert.Equal(TimeSpan.Zero, await _client.Leases.KeepAliveOnceAsync(lease.Id));
    }

    [Fact]
    public async Task ALeaseRevokedBehindTheClientsBackIsReportedLost()
    {
        Lease lease = await _client.Leases.GrantAsync(TimeSpan.FromSeconds(3));
        var reported = new TaskCompletionSource<LeaseLostEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        EventHandler<LeaseLostEventArgs> handler = (_, e) =>
        {
            if (e.Lease == lease)
            {
                reported.TrySetResult(e);
            }
        };
        _client.Leases.LeaseLost += handler;
        try
        {
            await _client.Leases.RevokeAsync(lease.Id);

            LeaseLostEventArgs lost = await reported.Task.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(LeaseLossReason.Gone, lost.Reason);
            Assert.True(lease.Lost.IsCancellationRequested);
        }
        finally
        {
            _client.Leases.LeaseLost -= handler;
        }
    }

    [Fact]
    public async Task AdoptingALeaseByIdKeepsItAlive()
    {
        Lease granted = await _client.Leases.GrantAsync(TimeSpan.FromSeconds(3), keepAlive: false);

        await using Lease adopted = await _client.Leases.KeepAliveAsync(granted.Id);
        await Task.Delay(TimeSpan.FromSeconds(4.5));

        Assert.True((await _client.Leases.TimeToLiveAsync(granted.Id)).Exists);
        var missing = await Assert.ThrowsAsync<KvStoreProtocolException>(() => _client.Leases.KeepAliveAsync(granted.Id + 1_000_000));
        Assert.Equal(ErrorCode.LeaseNotFound, missing.Code);
    }

    [Fact]
    public async Task RefusalsNameTheProblem()
    {
        var unknown = await Assert.ThrowsAsync<KvStoreProtocolException>(() => _client.PutAsync("sdk/x", "y", new PutOptions { Lease = 987_654_321 }));
        Assert.Equal(ErrorCode.LeaseNotFound, unknown.Code);
        Assert.Contains("987654321", unknown.Message);

        var tooShort = await Assert.ThrowsAsync<KvStoreProtocolException>(() => _client.Leases.GrantAsync(TimeSpan.FromSeconds(1)));
        Assert.Equal(ErrorCode.InvalidArgument, tooShort.Code);
        Assert.Contains("minimum of 3s", tooShort.Message);
    }

    [Fact]
    public async Task SequentialPutsReportTheKeyWritten()
    {
        PutResult first = await _client.PutAsync("sdk/queue/", "a", new PutOptions { Sequential = true });
        PutResult second = await _client.PutAsync("sdk/queue/", "b", new PutOptions { Sequential = true });

        Assert.Matches("^sdk/queue/[0-9]{20}$", first.KeyString);
        Assert.True(string.CompareOrdinal(first.KeyString, second.KeyString) < 0);
        Assert.Equal("b", (await _client.GetAsync(second.KeyString!))!.ValueString);
        Assert.Null((await _client.PutAsync("sdk/plain", "c")).Key);
    }
}
