using System.Text;
using Google.Protobuf;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Server.Tests.Net;

public sealed class MisbehavingClientTests
{
    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    [Fact]
    public async Task An_http_request_is_refused_as_an_oversized_frame_and_the_connection_closes()
    {
        await using var server = new TestServer(new DictionaryKvHandler());
        using var raw = await server.ConnectRawAsync();

        await raw.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        var frames = await raw.ReadUntilClosedAsync();

        // "GET " read as a big-endian length is 0x47455420 bytes, "/" the type, " HTTP/1." the request id.
        var error = RawClient.SingleError(frames, expectedRequestId: 0x20485454502F312E);
        Assert.Equal(ErrorCode.FrameTooLarge, error.Code);
        Assert.Equal(0x47455420, error.ActualValue);
        Assert.Equal(ProtocolLimits.MaxFrameBytesName, error.LimitName);
    }

    [Fact]
    public async Task Random_garbage_closes_the_connection()
    {
        await using var server = new TestServer(new DictionaryKvHandler());
        using var raw = await server.ConnectRawAsync();
        var garbage = new byte[4096];
        new Random(7).NextBytes(garbage);

        await raw.SendAsync(garbage);
        var frames = await raw.ReadUntilClosedAsync();

        // Random bytes read as a header are (overwhelmingly likely, and for this seed) an
        // oversized frame or a first frame that is not a Hello.
        var error = RawClient.SingleError(frames, expectedRequestId: FrameReader.ReadHeader(new(garbage)).RequestId);
        Assert.Contains(error.Code, new[] { ErrorCode.FrameTooLarge, ErrorCode.HandshakeRequired });
    }

    [Fact]
    public async Task A_truncated_frame_followed_by_end_of_stream_gets_an_invalid_frame_error()
    {
        await using var server = new TestServer(new DictionaryKvHandler());
        using var raw = await server.ConnectRawAsync();
        var put = RawClient.Frame(FrameType.PutRequest, 9, new PutRequest { Key = B("k"), Value = B("some value") });

        await raw.SendAsync([.. RawClient.HelloFrame(), .. put.AsSpan(0, put.Length - 4)]);
        raw.ShutdownSend();
        var frames = await raw.ReadUntilClosedAsync();

        Assert.Equal(FrameType.HelloResponse, frames[0].Header.Type);
        var error = RawClient.SingleError(frames, expectedRequestId: 9);
        Assert.Equal(ErrorCode.InvalidFrame, error.Code);
        Assert.Contains("truncated", error.Message);
        Assert.Contains($"announces {put.Length - FrameHeader.Size} payload bytes", error.Message);
    }

    [Fact]
    public async Task An_unknown_frame_type_gets_an_error_and_the_connection_closes()
    {
        await using var server = new TestServer(new DictionaryKvHandler());
        using var raw = await server.ConnectRawAsync();

        await raw.SendAsync([.. RawClient.HelloFrame(), .. RawClient.Frame((FrameType)250, 5, [1, 2, 3])]);
        var frames = await raw.ReadUntilClosedAsync();

        var error = RawClient.SingleError(frames, expectedRequestId: 5);
        Assert.Equal(ErrorCode.UnknownType, error.Code);
        Assert.Contains("250", error.Message);
    }

    [Fact]
    public async Task A_response_type_sent_as_a_request_is_an_unknown_type()
    {
        await using var server = new TestServer(new DictionaryKvHandler());
        using var raw = await server.ConnectRawAsync();

        await raw.SendAsync([.. RawClient.HelloFrame(), .. RawClient.Frame(FrameType.PutResponse, 6, new PutResponse())]);
        var frames = await raw.ReadUntilClosedAsync();

        Assert.Equal(ErrorCode.UnknownType, RawClient.SingleError(frames, expectedRequestId: 6).Code);
    }

    [Fact]
    public async Task A_payload_that_is_not_protobuf_gets_an_invalid_frame_error()
    {
        await using var server = new TestServer(new DictionaryKvHandler());
        using var raw = await server.ConnectRawAsync();

        await raw.SendAsync([.. RawClient.HelloFrame(), .. RawClient.Frame(FrameType.RangeRequest, 7, [0xFF, 0xFF, 0xFF, 0xFF])]);
        var frames = await raw.ReadUntilClosedAsync();

        var error = RawClient.SingleError(frames, expectedRequestId: 7);
        Assert.Equal(ErrorCode.InvalidFrame, error.Code);
        Assert.Contains("RangeRequest", error.Message);
    }

    [Fact]
    public async Task A_wrong_protocol_version_in_the_handshake_is_refused_and_the_connection_closes()
    {
        await using var server = new TestServer(new DictionaryKvHandler());
        using var raw = await server.ConnectRawAsync();

        await raw.SendAsync(RawClient.HelloFrame(version: 99));
        var frames = await raw.ReadUntilClosedAsync();

        var error = RawClient.SingleError(frames, expectedRequestId: 1);
        Assert.Equal(ErrorCode.UnsupportedVersion, error.Code);
        Assert.Contains("99", error.Message);
        Assert.DoesNotContain(frames, f => f.Header.Type == FrameType.HelloResponse);
    }

    [Fact]
    public async Task A_request_before_the_handshake_is_refused()
    {
        await using var server = new TestServer(new DictionaryKvHandler());
        using var raw = await server.ConnectRawAsync();

        await raw.SendAsync(RawClient.Frame(FrameType.RangeRequest, 3, new RangeRequest { Key = B("k") }));
        var frames = await raw.ReadUntilClosedAsync();

        Assert.Equal(ErrorCode.HandshakeRequired, RawClient.SingleError(frames, expectedRequestId: 3).Code);
    }

    [Fact]
    public async Task Request_id_zero_is_refused_because_it_is_reserved_for_push()
    {
        await using var server = new TestServer(new DictionaryKvHandler());
        using var raw = await server.ConnectRawAsync();

        await raw.SendAsync([.. RawClient.HelloFrame(), .. RawClient.Frame(FrameType.RangeRequest, 0, new RangeRequest { Key = B("k") })]);
        var frames = await raw.ReadUntilClosedAsync();

        Assert.Equal(ErrorCode.InvalidFrame, RawClient.SingleError(frames, expectedRequestId: 0).Code);
    }

    [Fact]
    public async Task A_well_behaved_client_keeps_getting_correct_answers_while_others_misbehave()
    {
        await using var server = new TestServer(new DictionaryKvHandler(), ProtocolLimits.Default with { MaxFrameBytes = 256 * 1024 });
        var good = await server.ConnectAsync();
        using var stop = new CancellationTokenSource();

        var attacks = new Func<Task>[]
        {
            async () =>
            {
                using var raw = await server.ConnectRawAsync();
                var garbage = new byte[1024];
                Random.Shared.NextBytes(garbage);
                // A leading 0xFF makes the length at least 4 GiB - 16 MiB: refused at once. Without it a
                // random length just above 1 KiB would leave the server waiting for the rest.
                garbage[0] = 0xFF;
                await raw.SendAsync(garbage);
                await raw.ReadUntilClosedAsync();
            },
            async () =>
            {
                using var raw = await server.ConnectRawAsync();
                var put = RawClient.Frame(FrameType.PutRequest, 2, new PutRequest { Key = B("k"), Value = B("v") });
                await raw.SendAsync([.. RawClient.HelloFrame(), .. put.AsSpan(0, put.Length / 2)]);
                raw.ShutdownSend();
                await raw.ReadUntilClosedAsync();
            },
            async () =>
            {
                using var raw = await server.ConnectRawAsync();
                await raw.SendAsync([.. RawClient.HelloFrame(), .. RawClient.Frame(FrameType.PutRequest, 2, new byte[300 * 1024])]);
                await raw.ReadUntilClosedAsync();
            },
            async () =>
            {
                using var raw = await server.ConnectRawAsync();
                await raw.SendAsync([.. RawClient.HelloFrame(), .. RawClient.Frame((FrameType)99, 2, [])]);
                await raw.ReadUntilClosedAsync();
            },
            async () =>
            {
                using var raw = await server.ConnectRawAsync();
                await raw.SendAsync(RawClient.HelloFrame(version: 0));
                await raw.ReadUntilClosedAsync();
            },
        };
        int attacksRun = 0;
        var attacker = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await attacks[Volatile.Read(ref attacksRun) % attacks.Length]();
                Interlocked.Increment(ref attacksRun);
            }
        });

        // The well-behaved client works all through the attacks (at least one round of each
        // kind overlaps with it): every write is read back.
        for (int i = 0; i < 300 || Volatile.Read(ref attacksRun) < attacks.Length; i++)
        {
            var key = B($"good/{i % 17}");
            var put = await good.PutAsync(new PutRequest { Key = key, Value = B($"value {i}") }).WaitAsync(TestServer.HangGuard);
            var read = await good.RangeAsync(new RangeRequest { Key = key }).WaitAsync(TestServer.HangGuard);
            var kv = Assert.Single(read.Kvs);
            Assert.Equal($"value {i}", kv.Value.ToStringUtf8());
            Assert.Equal(put.Header.Revision, kv.ModRevision);
        }

        stop.Cancel();
        await attacker.WaitAsync(TestServer.HangGuard);
        Assert.True(good.IsConnected);
        Assert.True(attacksRun >= attacks.Length);
    }
}
