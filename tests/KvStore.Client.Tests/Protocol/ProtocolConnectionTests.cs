using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Client.Tests.Protocol;

// The SDK's KvStore.Client.Compare / KeyValue would shadow the wire messages here.
using Compare = KvStore.Client.Protocol.Messages.Compare;
using KeyValue = KvStore.Client.Protocol.Messages.KeyValue;

public sealed class ProtocolConnectionTests
{
    private static RangeRequest Get(string key) => new() { Key = ByteString.CopyFromUtf8(key) };

    private static async Task<ProtocolConnection> ConnectAsync(ScriptedServer server, ProtocolConnectionOptions? options = null)
    {
        var connecting = ProtocolConnection.ConnectAsync(server.EndPoint, options);
        await server.AcceptAndGreetAsync();
        return await connecting.WaitAsync(ScriptedServer.HangGuard);
    }

    [Fact]
    public async Task The_handshake_sends_hello_with_the_current_version_and_takes_the_client_id_from_the_answer()
    {
        await using var server = new ScriptedServer();
        var connecting = ProtocolConnection.ConnectAsync(server.EndPoint, new ProtocolConnectionOptions { ClientName = "test-client" });
        await server.AcceptAsync();

        var hello = await server.ReadFrameAsync();
        var message = Hello.Parser.ParseFrom(hello.Payload);
        await server.SendAsync(FrameType.HelloResponse, hello.Header.RequestId, new HelloResponse { ProtocolVersion = 1, ClientId = 99 });
        await using var connection = await connecting.WaitAsync(ScriptedServer.HangGuard);

        Assert.Equal(ProtocolVersion.Current, message.ProtocolVersion);
        Assert.Equal("test-client", message.ClientName);
        Assert.NotEqual(0UL, hello.Header.RequestId);
        Assert.Equal(99UL, connection.ClientId);
    }

    [Fact]
    public async Task A_refused_handshake_raises_the_servers_error()
    {
        await using var server = new ScriptedServer();
        var connecting = ProtocolConnection.ConnectAsync(server.EndPoint);
        await server.AcceptAsync();
        var hello = await server.ReadFrameAsync();

        await server.SendAsync(FrameType.Error, hello.Header.RequestId, Error.Create(ErrorCode.UnsupportedVersion, "version 1 is not supported"));
        server.CloseConnection();

        var error = await Assert.ThrowsAsync<KvStoreProtocolException>(() => connecting.WaitAsync(ScriptedServer.HangGuard));
        Assert.Equal(ErrorCode.UnsupportedVersion, error.Code);
    }

    [Fact]
    public async Task Connecting_to_a_closed_port_raises_a_connection_exception()
    {
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        var error = await Assert.ThrowsAsync<KvStoreConnectionException>(() => ProtocolConnection.ConnectAsync("127.0.0.1", port));
        Assert.Contains(port.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message);
    }

    [Fact]
    public async Task Responses_in_reverse_order_are_matched_to_their_requests_by_id()
    {
        await using var server = new ScriptedServer();
        await using var connection = await ConnectAsync(server);

        var calls = Enumerable.Range(0, 50).Select(i => connection.RangeAsync(Get($"k{i}"))).ToArray();
        var requests = new List<(ulong Id, string Key)>();
        for (int i = 0; i < calls.Length; i++)
        {
            var frame = await server.ReadFrameAsync();
            requests.Add((frame.Header.RequestId, RangeRequest.Parser.ParseFrom(frame.Payload).Key.ToStringUtf8()));
        }

        foreach (var (id, key) in Enumerable.Reverse(requests))
        {
            await server.SendAsync(FrameType.RangeResponse, id, new RangeResponse { Kvs = { new KeyValue { Key = ByteString.CopyFromUtf8(key) } } });
        }

        var responses = await Task.WhenAll(calls).WaitAsync(ScriptedServer.HangGuard);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"k{i}"), responses.Select(r => r.Kvs[0].Key.ToStringUtf8()));
        Assert.Equal(50, requests.Select(r => r.Id).Distinct().Count());
    }

    [Fact]
    public async Task Losing_the_connection_fails_every_pending_request_with_a_connection_exception()
    {
        await using var server = new ScriptedServer();
        var connection = await ConnectAsync(server);
        var pending = Enumerable.Range(0, 10).Select(i => connection.RangeAsync(Get($"k{i}"))).ToArray();
        for (int i = 0; i < pending.Length; i++)
        {
            await server.ReadFrameAsync();
        }

        server.CloseConnection();

        foreach (var request in pending)
        {
            await Assert.ThrowsAsync<KvStoreConnectionException>(() => request.WaitAsync(ScriptedServer.HangGuard));
        }

        await connection.Completion.WaitAsync(ScriptedServer.HangGuard);
        Assert.False(connection.IsConnected);
        await Assert.ThrowsAsync<KvStoreConnectionException>(() => connection.RangeAsync(Get("after")));
        await connection.DisposeAsync();
    }

    [Fact]
    public async Task A_cancelled_request_throws_and_its_late_answer_does_not_disturb_the_next_one()
    {
        await using var server = new ScriptedServer();
        await using var connection = await ConnectAsync(server);
        using var cancel = new CancellationTokenSource();

        var abandoned = connection.RangeAsync(Get("slow"), cancel.Token);
        var slowFrame = await server.ReadFrameAsync();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);

        await server.SendAsync(FrameType.RangeResponse, slowFrame.Header.RequestId, new RangeResponse { Count = 111 });
        var next = connection.RangeAsync(Get("next"));
        var nextFrame = await server.ReadFrameAsync();
        await server.SendAsync(FrameType.RangeResponse, nextFrame.Header.RequestId, new RangeResponse { Count = 222 });

        Assert.Equal(222, (await next.WaitAsync(ScriptedServer.HangGuard)).Count);
        Assert.True(connection.IsConnected);
    }

    [Fact]
    public async Task An_error_frame_fails_only_its_own_request()
    {
        await using var server = new ScriptedServer();
        await using var connection = await ConnectAsync(server);

        var failing = connection.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8("k") });
        var fine = connection.RangeAsync(Get("k"));
        var first = await server.ReadFrameAsync();
        var second = await server.ReadFrameAsync();
        await server.SendAsync(FrameType.Error, first.Header.RequestId, new Error { Code = ErrorCode.NotLeader, Message = "follower", LeaderHint = "10.1.1.1:2379" });
        await server.SendAsync(FrameType.RangeResponse, second.Header.RequestId, new RangeResponse { Count = 1 });

        var notLeader = await Assert.ThrowsAsync<NotLeaderException>(() => failing.WaitAsync(ScriptedServer.HangGuard));
        Assert.Equal("10.1.1.1:2379", notLeader.LeaderHint);
        Assert.Equal(1, (await fine.WaitAsync(ScriptedServer.HangGuard)).Count);
    }

    [Fact]
    public async Task An_answer_of_the_wrong_type_is_a_protocol_violation()
    {
        await using var server = new ScriptedServer();
        await using var connection = await ConnectAsync(server);

        var request = connection.RangeAsync(Get("k"));
        var frame = await server.ReadFrameAsync();
        await server.SendAsync(FrameType.PutResponse, frame.Header.RequestId, new PutResponse());

        var error = await Assert.ThrowsAsync<KvStoreProtocolException>(() => request.WaitAsync(ScriptedServer.HangGuard));
        Assert.Equal(ErrorCode.InvalidFrame, error.Code);
        await connection.Completion.WaitAsync(ScriptedServer.HangGuard);
    }

    [Fact]
    public async Task Push_frames_arrive_in_order_and_the_channel_completes_when_the_connection_closes()
    {
        await using var server = new ScriptedServer();
        await using var connection = await ConnectAsync(server);

        for (int i = 0; i < 3; i++)
        {
            await server.SendAsync(FrameType.StatusResponse, 0, new StatusResponse { Name = $"push-{i}" });
        }

        server.CloseConnection();
        var names = new List<string>();
        await Assert.ThrowsAsync<KvStoreConnectionException>(async () =>
        {
            await foreach (var push in connection.PushFrames.ReadAllAsync().WithCancellation(new CancellationTokenSource(ScriptedServer.HangGuard).Token))
            {
                names.Add(((StatusResponse)push.ParseMessage()).Name);
            }
        });

        Assert.Equal(["push-0", "push-1", "push-2"], names);
    }

    [Fact]
    public async Task Requests_beyond_the_client_in_flight_limit_wait_for_a_slot_without_being_sent()
    {
        await using var server = new ScriptedServer();
        await using var connection = await ConnectAsync(server, new ProtocolConnectionOptions { Limits = ProtocolLimits.Default with { MaxInFlightPerConnection = 2 } });
        using var giveUp = new CancellationTokenSource();

        var first = connection.RangeAsync(Get("a"));
        var second = connection.RangeAsync(Get("b"));
        var waiting = connection.RangeAsync(Get("c"), giveUp.Token);
        var a = await server.ReadFrameAsync();
        await server.ReadFrameAsync();
        giveUp.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);

        await server.SendAsync(FrameType.RangeResponse, a.Header.RequestId, new RangeResponse { Count = 1 });
        Assert.Equal(1, (await first.WaitAsync(ScriptedServer.HangGuard)).Count);
        var fourth = connection.RangeAsync(Get("d"));
        var next = await server.ReadFrameAsync();

        // "c" gave up while waiting for a slot, so it never went on the wire.
        Assert.Equal("d", RangeRequest.Parser.ParseFrom(next.Payload).Key.ToStringUtf8());
        Assert.False(second.IsCompleted);
        Assert.False(fourth.IsCompleted);
    }

    [Fact]
    public async Task A_cancelled_request_keeps_its_in_flight_slot_until_the_server_answers_it()
    {
        await using var server = new ScriptedServer();
        await using var connection = await ConnectAsync(server, new ProtocolConnectionOptions { Limits = ProtocolLimits.Default with { MaxInFlightPerConnection = 1 } });
        using var cancelFirst = new CancellationTokenSource();
        using var cancelSecond = new CancellationTokenSource();

        var first = connection.RangeAsync(Get("a"), cancelFirst.Token);
        var a = await server.ReadFrameAsync();
        cancelFirst.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);

        // The server still counts "a" in flight, so "b" must wait for a slot.
        var second = connection.RangeAsync(Get("b"), cancelSecond.Token);
        cancelSecond.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);

        await server.SendAsync(FrameType.RangeResponse, a.Header.RequestId, new RangeResponse());
        var third = connection.RangeAsync(Get("c"));
        var next = await server.ReadFrameAsync();

        Assert.Equal("c", RangeRequest.Parser.ParseFrom(next.Payload).Key.ToStringUtf8());
        await server.SendAsync(FrameType.RangeResponse, next.Header.RequestId, new RangeResponse { Count = 3 });
        Assert.Equal(3, (await third.WaitAsync(ScriptedServer.HangGuard)).Count);
    }
}
