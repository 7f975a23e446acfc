using Google.Protobuf;
using KvStore.Client;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;
using Compare = KvStore.Client.Protocol.Messages.Compare;
using KeyValue = KvStore.Client.Protocol.Messages.KeyValue;

namespace KvStore.Server.Tests.Net;

public sealed class PushAndLifecycleTests
{
    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    [Fact]
    public async Task A_frame_pushed_by_the_server_reaches_the_client_between_responses()
    {
        var handler = new DictionaryKvHandler();
        await using var server = new TestServer(handler);
        var client = await server.ConnectAsync();
        var other = await server.ConnectAsync();
        await client.StatusAsync(new StatusRequest());
        var connection = Assert.Single(handler.StatusCallers);

        await connection.SendPushAsync(FrameType.RangeResponse, new RangeResponse { Count = 1, Kvs = { new KeyValue { Key = B("watched"), Value = B("changed") } } });
        await connection.SendPushAsync(FrameType.StatusResponse, new StatusResponse { Name = "pushed" });
        var response = await client.PutAsync(new PutRequest { Key = B("k"), Value = B("v") });

        var first = await client.PushFrames.ReadAsync().AsTask().WaitAsync(TestServer.HangGuard);
        var second = await client.PushFrames.ReadAsync().AsTask().WaitAsync(TestServer.HangGuard);
        Assert.Equal(FrameType.RangeResponse, first.Type);
        Assert.Equal("changed", ((RangeResponse)first.ParseMessage()).Kvs[0].Value.ToStringUtf8());
        Assert.Equal("pushed", ((StatusResponse)second.ParseMessage()).Name);
        Assert.NotNull(response.Header);
        Assert.False(other.PushFrames.TryRead(out _));
    }

    [Fact]
    public async Task Pushing_to_a_closed_connection_fails_with_a_connection_exception()
    {
        var handler = new DictionaryKvHandler();
        await using var server = new TestServer(handler);
        var client = await server.ConnectAsync();
        await client.StatusAsync(new StatusRequest());
        var connection = Assert.Single(handler.StatusCallers);

        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onClosed = connection.Closed.Register(() => closed.TrySetResult());
        await client.DisposeAsync();
        await closed.Task.WaitAsync(TestServer.HangGuard);

        await Assert.ThrowsAsync<KvStoreConnectionException>(() => connection.SendPushAsync(FrameType.StatusResponse, new StatusResponse()).AsTask());
    }

    [Fact]
    public async Task Stopping_the_listener_answers_in_flight_requests_then_closes_connections()
    {
        var handler = new GatedHandler();
        var server = new TestServer(handler);
        var client = await server.ConnectAsync();
        var inFlight = client.RangeAsync(new RangeRequest { Key = B("in-flight") });
        await handler.ArrivalsAsync(1);

        var stop = server.Listener.StopAsync();
        Assert.False(stop.IsCompleted);
        handler.Open("in-flight");
        var response = await inFlight.WaitAsync(TestServer.HangGuard);
        await stop.WaitAsync(TestServer.HangGuard);
        await client.Completion.WaitAsync(TestServer.HangGuard);

        Assert.Equal("value-of-in-flight", response.Kvs[0].Value.ToStringUtf8());
        Assert.Empty(server.Listener.Connections);
        await Assert.ThrowsAsync<KvStoreConnectionException>(() => client.RangeAsync(new RangeRequest { Key = B("late") }));
        await Assert.ThrowsAsync<KvStoreConnectionException>(() => server.ConnectAsync());
        await server.DisposeAsync();
    }

    [Fact]
    public async Task Stopping_with_a_cancelled_token_cuts_connections_and_fails_pending_requests()
    {
        var handler = new GatedHandler();
        var server = new TestServer(handler);
        var client = await server.ConnectAsync();
        var stuck = client.RangeAsync(new RangeRequest { Key = B("never-answered") });
        await handler.ArrivalsAsync(1);

        await server.Listener.StopAsync(new CancellationToken(canceled: true)).WaitAsync(TestServer.HangGuard);

        await Assert.ThrowsAsync<KvStoreConnectionException>(() => stuck.WaitAsync(TestServer.HangGuard));
        Assert.False(client.IsConnected);
        await server.DisposeAsync();
    }

    [Fact]
    public async Task A_client_that_resets_with_requests_in_flight_cancels_their_handlers_and_others_carry_on()
    {
        var handler = new GatedHandler();
        await using var server = new TestServer(handler);
        var bystander = await server.ConnectAsync();
        using var raw = await server.ConnectRawAsync();
        await raw.SendAsync([.. RawClient.HelloFrame(), .. RawClient.Frame(FrameType.RangeRequest, 2, new RangeRequest { Key = B("abandoned") })]);
        await handler.ArrivalsAsync(1);
        var connection = Assert.Single(handler.Connections);
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onClosed = connection.Closed.Register(() => closed.TrySetResult());

        raw.Reset();
        await closed.Task.WaitAsync(TestServer.HangGuard);
        await handler.FirstCancellation.Task.WaitAsync(TestServer.HangGuard);

        Assert.Equal(1, handler.Cancelled);
        handler.Open("still-served");
        var answer = await bystander.RangeAsync(new RangeRequest { Key = B("still-served") }).WaitAsync(TestServer.HangGuard);
        Assert.Equal("value-of-still-served", answer.Kvs[0].Value.ToStringUtf8());
    }
}
