using Google.Protobuf;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Server.Tests.Net;

public sealed class PipeliningTests
{
    private static RangeRequest Get(string key) => new() { Key = ByteString.CopyFromUtf8(key) };

    [Fact]
    public async Task A_thousand_concurrent_requests_on_one_connection_answered_in_shuffled_order_each_get_their_own_response()
    {
        const int count = 1000;
        var handler = new GatedHandler();
        await using var server = new TestServer(handler);
        var client = await server.ConnectAsync();

        var keys = Enumerable.Range(0, count).Select(i => $"key-{i}").ToArray();
        var requests = keys.Select(key => client.RangeAsync(Get(key))).ToArray();
        await handler.ArrivalsAsync(count);

        // Every request is inside the handler at once; release them in an order unrelated to
        // the order they were sent.
        var releaseOrder = keys.ToArray();
        new Random(20261124).Shuffle(releaseOrder);
        foreach (var key in releaseOrder)
        {
            handler.Open(key);
        }

        var responses = await Task.WhenAll(requests).WaitAsync(TestServer.HangGuard);
        for (int i = 0; i < count; i++)
        {
            var kv = Assert.Single(responses[i].Kvs);
            Assert.Equal(keys[i], kv.Key.ToStringUtf8());
            Assert.Equal("value-of-" + keys[i], kv.Value.ToStringUtf8());
        }

        Assert.Equal(count, handler.Arrived);
        Assert.Single(server.Listener.Connections);
    }

    [Fact]
    public async Task A_slow_request_does_not_hold_back_a_later_fast_one()
    {
        var handler = new GatedHandler();
        await using var server = new TestServer(handler);
        var client = await server.ConnectAsync();

        var slow = client.RangeAsync(Get("slow"));
        await handler.ArrivalsAsync(1);
        var fast = client.RangeAsync(Get("fast"));
        handler.Open("fast");

        var fastResponse = await fast.WaitAsync(TestServer.HangGuard);
        Assert.False(slow.IsCompleted);
        handler.Open("slow");
        var slowResponse = await slow.WaitAsync(TestServer.HangGuard);

        Assert.Equal("value-of-fast", fastResponse.Kvs[0].Value.ToStringUtf8());
        Assert.Equal("value-of-slow", slowResponse.Kvs[0].Value.ToStringUtf8());
    }
}
