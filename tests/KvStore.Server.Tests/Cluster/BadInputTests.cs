using System.Net;
using Google.Protobuf;
using KvStore.Client;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;
using KvStore.Server.Tests.Net;

namespace KvStore.Server.Tests.Cluster;

/// <summary>Malformed and oversized input against a live cluster node while a well-behaved client keeps working.</summary>
[Collection(ProcessCluster.Collection)]
public sealed class BadInputTests
{
    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    [Fact]
    public async Task Garbage_truncated_oversized_and_unknown_frames_are_refused_while_another_client_is_served()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(1);
        ClusterNode node = await cluster.WaitForLeaderAsync();
        (string host, int port) = KvStore.Server.Peers.PeerAddress.Parse(node.ClientUrl);
        var endPoint = new IPEndPoint(IPAddress.Parse(host), port);
        var good = await cluster.ConnectAsync(node);
        int limitKey = good.ServerLimits.MaxKeyBytes;
        int limitValue = good.ServerLimits.MaxValueBytes;
        int limitOps = good.ServerLimits.MaxOpsPerTxn;

        async Task<List<(FrameHeader Header, byte[] Payload)>> Attack(byte[] bytes, bool shutdown = false)
        {
            using RawClient raw = await RawClient.ConnectAsync(endPoint);
            await raw.SendAsync(bytes);
            if (shutdown)
            {
                raw.ShutdownSend();
            }

            return await raw.ReadUntilClosedAsync();
        }

        var garbage = new byte[4096];
        new Random(7).NextBytes(garbage);
        byte[] put = RawClient.Frame(FrameType.PutRequest, 2, new PutRequest { Key = B("k"), Value = B("v") });
        var oversizedHeader = new byte[FrameHeader.Size];
        new FrameHeader(uint.MaxValue, FrameType.PutRequest, 2).WriteTo(oversizedHeader);

        for (int round = 0; round < 3; round++)
        {
            await Attack(garbage);
            Assert.Equal(ErrorCode.InvalidFrame, RawClient.SingleError(await Attack([.. RawClient.HelloFrame(), .. put.AsSpan(0, put.Length - 3)], shutdown: true), 2).Code);
            Assert.Equal(ErrorCode.FrameTooLarge, RawClient.SingleError(await Attack([.. RawClient.HelloFrame(), .. oversizedHeader]), 2).Code);
            Assert.Equal(ErrorCode.UnknownType, RawClient.SingleError(await Attack([.. RawClient.HelloFrame(), .. RawClient.Frame((FrameType)99, 2, [])]), 2).Code);

            // The well-behaved client is still served, and its writes land.
            PutResponse ok = await good.PutAsync(new PutRequest { Key = B($"good/{round}"), Value = B("fine") });
            Assert.Equal("fine", Assert.Single((await good.RangeAsync(new RangeRequest { Key = B($"good/{round}") })).Kvs).Value.ToStringUtf8());
            Assert.True(ok.Header.Revision > 0);
        }

        // Oversized key, value and transaction: each refused with the limit it broke, connection kept.
        using RawClient limits = await RawClient.ConnectAsync(endPoint);
        var txn = new TxnRequest();
        for (int i = 0; i <= limitOps; i++)
        {
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = B($"t{i}"), Value = B("v") } });
        }

        await limits.SendAsync([
            .. RawClient.HelloFrame(),
            .. RawClient.Frame(FrameType.PutRequest, 2, new PutRequest { Key = ByteString.CopyFrom(new byte[limitKey + 1]), Value = B("v") }),
            .. RawClient.Frame(FrameType.PutRequest, 3, new PutRequest { Key = B("big"), Value = ByteString.CopyFrom(new byte[Math.Min(limitValue + 1, good.ServerLimits.MaxFrameBytes - 64)]) }),
            .. RawClient.Frame(FrameType.TxnRequest, 4, txn),
        ]);
        var answers = await limits.ReadFramesAsync(4);
        Assert.Equal(ErrorCode.KeyTooLarge, ErrorFor(answers, 2).Code);
        Assert.Equal(ErrorCode.ValueTooLarge, ErrorFor(answers, 3).Code);
        Assert.Equal(ErrorCode.TooManyOps, ErrorFor(answers, 4).Code);
        Assert.Empty((await good.RangeAsync(new RangeRequest { Key = B("big") })).Kvs);
        Assert.True((await good.StatusAsync(new StatusRequest())).IsLeader);
    }

    private static Error ErrorFor(List<(FrameHeader Header, byte[] Payload)> frames, ulong requestId)
    {
        var frame = Assert.Single(frames, f => f.Header.RequestId == requestId);
        Assert.Equal(FrameType.Error, frame.Header.Type);
        return Error.Parser.ParseFrom(frame.Payload);
    }
}
