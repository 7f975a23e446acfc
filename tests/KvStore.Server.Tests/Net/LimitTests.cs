using Google.Protobuf;
using KvStore.Client;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Server.Tests.Net;

public sealed class LimitTests
{
    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    private static ByteString Bytes(int length) => ByteString.CopyFrom(new byte[length]);

    // The client may send what the server refuses: its own limits are set high so that the
    // server's checks are the ones under test.
    private static readonly ProtocolConnectionOptions Permissive = new()
    {
        Limits = ProtocolLimits.Default with { MaxFrameBytes = 64 * 1024 * 1024, MaxInFlightPerConnection = 4096 },
    };

    [Fact]
    public async Task A_too_large_key_is_refused_naming_MaxKeyBytes_and_the_connection_stays_open()
    {
        await using var server = new TestServer(new DictionaryKvHandler(), ProtocolLimits.Default with { MaxKeyBytes = 16 });
        var client = await server.ConnectAsync();

        var error = await Assert.ThrowsAsync<KvStoreLimitExceededException>(() => client.PutAsync(new PutRequest { Key = Bytes(17), Value = B("v") }));
        var fine = await client.PutAsync(new PutRequest { Key = Bytes(16), Value = B("v") });

        Assert.Equal(ErrorCode.KeyTooLarge, error.Code);
        Assert.Equal(ProtocolLimits.MaxKeyBytesName, error.LimitName);
        Assert.Equal(16, error.LimitValue);
        Assert.Equal(17, error.ActualValue);
        Assert.Contains("MaxKeyBytes = 16", error.Message);
        Assert.Contains("17 bytes", error.Message);
        Assert.NotNull(fine.Header);
    }

    [Fact]
    public async Task A_too_large_value_is_refused_naming_MaxValueBytes()
    {
        await using var server = new TestServer(new DictionaryKvHandler(), ProtocolLimits.Default with { MaxValueBytes = 1000 });
        var client = await server.ConnectAsync();

        var error = await Assert.ThrowsAsync<KvStoreLimitExceededException>(() => client.PutAsync(new PutRequest { Key = B("k"), Value = Bytes(1001) }));

        Assert.Equal(ErrorCode.ValueTooLarge, error.Code);
        Assert.Equal(ProtocolLimits.MaxValueBytesName, error.LimitName);
        Assert.Equal(1001, error.ActualValue);
        Assert.True(client.IsConnected);
    }

    [Fact]
    public async Task Keys_and_values_inside_a_transaction_are_checked_too()
    {
        await using var server = new TestServer(new DictionaryKvHandler(), ProtocolLimits.Default with { MaxKeyBytes = 8 });
        var client = await server.ConnectAsync();
        var nested = new TxnRequest
        {
            Success =
            {
                new RequestOp
                {
                    RequestTxn = new TxnRequest { Failure = { new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = Bytes(9) } } } },
                },
            },
        };

        var error = await Assert.ThrowsAsync<KvStoreLimitExceededException>(() => client.TxnAsync(nested));

        Assert.Equal(ErrorCode.KeyTooLarge, error.Code);
        Assert.Contains("delete key", error.Message);
    }

    [Fact]
    public async Task A_transaction_with_too_many_ops_is_refused_naming_MaxOpsPerTxn()
    {
        await using var server = new TestServer(new DictionaryKvHandler(), ProtocolLimits.Default with { MaxOpsPerTxn = 4 });
        var client = await server.ConnectAsync();
        var txn = new TxnRequest();
        for (int i = 0; i < 5; i++)
        {
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = B($"k{i}"), Value = B("v") } });
        }

        var error = await Assert.ThrowsAsync<KvStoreLimitExceededException>(() => client.TxnAsync(txn));
        txn.Success.RemoveAt(0);
        var allowed = await client.TxnAsync(txn);

        Assert.Equal(ErrorCode.TooManyOps, error.Code);
        Assert.Equal(ProtocolLimits.MaxOpsPerTxnName, error.LimitName);
        Assert.Equal(4, error.LimitValue);
        Assert.Equal(5, error.ActualValue);
        Assert.Contains("txn success ops", error.Message);
        Assert.True(allowed.Succeeded);
        Assert.Equal(4, allowed.Responses.Count);
    }

    [Fact]
    public async Task Requests_beyond_the_in_flight_limit_are_refused_and_the_others_are_answered()
    {
        var handler = new GatedHandler();
        await using var server = new TestServer(handler, ProtocolLimits.Default with { MaxInFlightPerConnection = 4 });
        var client = await server.ConnectAsync(Permissive);

        var admitted = Enumerable.Range(0, 4).Select(i => client.RangeAsync(new RangeRequest { Key = B($"k{i}") })).ToArray();
        await handler.ArrivalsAsync(4);
        var error = await Assert.ThrowsAsync<KvStoreLimitExceededException>(() => client.RangeAsync(new RangeRequest { Key = B("k4") }));
        for (int i = 0; i < 4; i++)
        {
            handler.Open($"k{i}");
        }

        var responses = await Task.WhenAll(admitted).WaitAsync(TestServer.HangGuard);
        handler.Open("k5");
        var later = await client.RangeAsync(new RangeRequest { Key = B("k5") }).WaitAsync(TestServer.HangGuard);

        Assert.Equal(ErrorCode.TooManyInFlight, error.Code);
        Assert.Equal(ProtocolLimits.MaxInFlightPerConnectionName, error.LimitName);
        Assert.Equal(4, error.LimitValue);
        Assert.Equal(5, handler.Arrived); // k0..k3 and k5: the refused k4 never reached the handler
        Assert.All(responses, r => Assert.Single(r.Kvs));
        Assert.Equal("value-of-k5", later.Kvs[0].Value.ToStringUtf8());
    }

    [Fact]
    public async Task A_too_large_frame_is_refused_naming_MaxFrameBytes_and_the_connection_closes()
    {
        await using var server = new TestServer(new DictionaryKvHandler(), ProtocolLimits.Default with { MaxFrameBytes = 64 * 1024 });
        var client = await server.ConnectAsync(Permissive);

        var error = await Assert.ThrowsAsync<KvStoreLimitExceededException>(() => client.PutAsync(new PutRequest { Key = B("k"), Value = Bytes(100 * 1024) }));
        await client.Completion.WaitAsync(TestServer.HangGuard);
        var afterwards = await Assert.ThrowsAsync<KvStoreConnectionException>(() => client.RangeAsync(new RangeRequest { Key = B("k") }));

        Assert.Equal(ErrorCode.FrameTooLarge, error.Code);
        Assert.Equal(ProtocolLimits.MaxFrameBytesName, error.LimitName);
        Assert.Equal(64 * 1024, error.LimitValue);
        Assert.True(error.ActualValue > 100 * 1024);
        Assert.False(client.IsConnected);
        Assert.NotNull(afterwards);
    }

    [Fact]
    public async Task The_client_refuses_to_send_a_frame_over_its_own_limit()
    {
        await using var server = new TestServer(new DictionaryKvHandler());
        var client = await server.ConnectAsync(new ProtocolConnectionOptions { Limits = ProtocolLimits.Default with { MaxFrameBytes = 1024 } });

        var error = await Assert.ThrowsAsync<KvStoreLimitExceededException>(() => client.PutAsync(new PutRequest { Key = B("k"), Value = Bytes(2048) }));
        var stillFine = await client.PutAsync(new PutRequest { Key = B("k"), Value = B("small") });

        Assert.Equal(ErrorCode.FrameTooLarge, error.Code);
        Assert.Equal(1024, error.LimitValue);
        Assert.NotNull(stillFine.Header);
    }
}
