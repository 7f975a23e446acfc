using Google.Protobuf;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;
using WireKeyValue = KvStore.Client.Protocol.Messages.KeyValue;
using WireCompare = KvStore.Client.Protocol.Messages.Compare;

namespace KvStore.Client.Tests.Sdk;

public sealed class TxnBuilderTests
{
    private static ByteString B(string text) => ByteString.CopyFromUtf8(text);

    [Fact]
    public async Task The_builder_turns_conditions_and_branches_into_the_matching_request()
    {
        await using var client = new KvStoreClient("127.0.0.1:1");

        var request = client.Txn()
            .If(Cmp.Version("k") == 3, Cmp.Value("k") != "x", Cmp.ModRevision("m") < 5, Cmp.CreateRevision("c") > 1)
            .Then(Op.Put("k", "y", new PutOptions { PrevKv = true }), Op.Get("k"))
            .Else(Op.Delete("k"), Op.Range(RangeOptions.ForPrefix("p/")))
            .ToRequest();

        Assert.Equal(
            new[]
            {
                new WireCompare { Key = B("k"), Target = WireCompare.Types.CompareTarget.Version, Result = WireCompare.Types.CompareResult.Equal, Version = 3 },
                new WireCompare { Key = B("k"), Target = WireCompare.Types.CompareTarget.Value, Result = WireCompare.Types.CompareResult.NotEqual, Value = B("x") },
                new WireCompare { Key = B("m"), Target = WireCompare.Types.CompareTarget.Mod, Result = WireCompare.Types.CompareResult.Less, ModRevision = 5 },
                new WireCompare { Key = B("c"), Target = WireCompare.Types.CompareTarget.Create, Result = WireCompare.Types.CompareResult.Greater, CreateRevision = 1 },
            },
            request.Compare);
        Assert.Equal(
            new[]
            {
                new RequestOp { RequestPut = new PutRequest { Key = B("k"), Value = B("y"), PrevKv = true } },
                new RequestOp { RequestRange = new RangeRequest { Key = B("k") } },
            },
            request.Success);
        Assert.Equal(
            new[]
            {
                new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = B("k") } },
                new RequestOp { RequestRange = new RangeRequest { Key = B("p/"), RangeEnd = B("p0") } },
            },
            request.Failure);
        Assert.Null(request.Session);
    }

    [Fact]
    public async Task A_writing_txn_is_sent_with_a_session_and_its_results_come_back_typed()
    {
        await using var member = new ScriptedMember("n1");
        member.Behaviour = (_, _, _) => ValueTask.FromResult<IMessage>(new TxnResponse
        {
            Succeeded = false,
            Header = new ResponseHeader { Revision = 9 },
            Responses =
            {
                new ResponseOp { ResponseRange = new RangeResponse { Count = 1, Kvs = { new WireKeyValue { Key = B("lock"), Value = B("theirs"), Version = 2 } } } },
            },
        });
        await using var client = new KvStoreClient(member.Endpoint);

        var result = await client.Txn()
            .If(Cmp.Value("lock") == "free")
            .Then(Op.Put("lock", "mine"))
            .Else(Op.Get("lock"))
            .CommitAsync()
            .WaitAsync(Answers.HangGuard);

        var sent = (TxnRequest)member.Received.Single().Request;
        Assert.NotNull(sent.Session);
        Assert.Equal(1UL, sent.Session.Sequence);
        Assert.False(result.Succeeded);
        Assert.Equal(9, result.Header.Revision);
        Assert.Equal("theirs", Assert.Single(result.Results).Range!.Kvs[0].ValueString);
    }

    [Fact]
    public async Task A_read_only_txn_carries_no_session()
    {
        await using var member = new ScriptedMember("n1");
        member.Behaviour = (_, _, _) => ValueTask.FromResult<IMessage>(new TxnResponse { Succeeded = true, Responses = { new ResponseOp { ResponseRange = new RangeResponse() } } });
        await using var client = new KvStoreClient(member.Endpoint);

        await client.Txn().If(Cmp.Version("k") == 0).Then(Op.Get("k")).CommitAsync().WaitAsync(Answers.HangGuard);

        Assert.Null(((TxnRequest)member.Received.Single().Request).Session);
        Assert.Equal(1, member.Count(FrameType.TxnRequest));
    }
}
