using System.Net;
using System.Net.Sockets;
using KvStore.Client;
using KvStore.Server.Node;

namespace KvStore.Server.Tests.Watch;

/// <summary>The SDK's watch against a one-node cluster in the test process.</summary>
public sealed class WatchSdkTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kvstore-watch-" + Guid.NewGuid().ToString("N")[..12]);
    private KvNode _node = null!;
    private KvStoreClient _client = null!;

    public async Task InitializeAsync()
    {
        _node = await KvNode.StartAsync(new KvNodeOptions
        {
            Name = "solo",
            DataDirectory = _dir,
            ClientUrl = $"127.0.0.1:{FreePort()}",
            PeerUrl = $"127.0.0.1:{FreePort()}",
        });
        _client = new KvStoreClient($"127.0.0.1:{_node.ClientEndPoint.Port}");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!(await _client.StatusAsync(cancellationToken: timeout.Token)).IsLeader)
        {
            await Task.Delay(50, timeout.Token);
        }
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        await _node.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task APrefixWatchFromAPastRevisionDeliversHistoryThenLiveChangesWithPrevKv()
    {
        long first = (await _client.PutAsync("cfg/a", "1")).Header.Revision;
        await _client.PutAsync("cfg/b", "2");
        await _client.PutAsync("other", "x");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using IAsyncEnumerator<WatchBatch> watch = _client
            .Watch("cfg/", new WatchOptions { Prefix = true, StartRevision = first, PrevKv = true }, timeout.Token)
            .GetAsyncEnumerator(timeout.Token);

        Assert.Equal("cfg/a=1", await NextAsync(watch));
        Assert.Equal("cfg/b=2", await NextAsync(watch));
        await _client.PutAsync("cfg/a", "3");
        await _client.DeleteAsync("cfg/", new DeleteOptions { Prefix = true });
        Assert.Equal("cfg/a=3 (was 1)", await NextAsync(watch));
        Assert.Equal("-cfg/a (was 3),-cfg/b (was 2)", await NextAsync(watch));
    }

    [Fact]
    public async Task AWatchBelowTheCompactedRevisionFailsWithTheCompactRevision()
    {
        await _client.PutAsync("c", "1");
        long last = (await _client.PutAsync("c", "2")).Header.Revision;
        await _client.CompactAsync(last);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var ex = await Assert.ThrowsAsync<WatchCompactedException>(async () =>
        {
            await foreach (WatchBatch _ in _client.Watch("c", new WatchOptions { StartRevision = 1 }, timeout.Token))
            {
            }
        });

        Assert.Equal(last, ex.CompactRevision);
    }

    [Fact]
    public async Task StoppingTheEnumerationCancelsTheWatchOnTheServer()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using (IAsyncEnumerator<WatchBatch> watch = _client.Watch("k", null, timeout.Token).GetAsyncEnumerator(timeout.Token))
        {
            ValueTask<bool> moved = watch.MoveNextAsync();
            while (_node.Watches.Hub.WatcherCount == 0)
            {
                await Task.Delay(10, timeout.Token);
            }

            await _client.PutAsync("k", "v");
            Assert.True(await moved);
            Assert.Equal("v", watch.Current.Events.Single().Kv.ValueString);
        }

        while (_node.Watches.Hub.WatcherCount != 0)
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    private static async Task<string> NextAsync(IAsyncEnumerator<WatchBatch> watch)
    {
        Assert.True(await watch.MoveNextAsync());
        WatchBatch batch = watch.Current;
        Assert.False(batch.IsProgress);
        Assert.All(batch.Events, e => Assert.Equal(batch.Revision, e.Revision));
        return string.Join(",", batch.Events.Select(e =>
            (e.Type == WatchEventType.Put ? $"{e.Kv.KeyString}={e.Kv.ValueString}" : $"-{e.Kv.KeyString}")
            + (e.PrevKv is { } prev ? $" (was {prev.ValueString})" : string.Empty)));
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
