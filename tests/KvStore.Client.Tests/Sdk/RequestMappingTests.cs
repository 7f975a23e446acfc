using Google.Protobuf;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;
using WireKeyValue = KvStore.Client.Protocol.Messages.KeyValue;

namespace KvStore.Client.Tests.Sdk;

public sealed class RequestMappingTests
{
    private static ByteString B(string text) => ByteString.CopyFromUtf8(text);

    private static async Task<IMessage> SentBy(Func<KvStoreClient, Task> call, IMessage answer)
    {
        await using var member = new ScriptedMember("n1");
        member.Behaviour = (_, _, _) => ValueTask.FromResult(answer);
        await using var client = new KvStoreClient(member.Endpoint);
        await call(client).WaitAsync(Answers.HangGuard);
        return member.Received.Single().Request;
    }

    [Fact]
    public async Task A_prefix_range_with_options_becomes_a_range_request_up_to_the_prefix_end()
    {
        var sent = (RangeRequest)await SentBy(
            c => c.RangeAsync(new RangeOptions
            {
                Key = "app/"u8.ToArray(), Prefix = true, Limit = 10, Revision = 4, KeysOnly = true, Serializable = true,
                SortOrder = SortOrder.Descend, SortTarget = SortTarget.Mod,
            }),
            new RangeResponse());

        Assert.Equal(
            new RangeRequest
            {
                Key = B("app/"), RangeEnd = B("app0"), Limit = 10, Revision = 4, KeysOnly = true, Serializable = true,
                SortOrder = RangeRequest.Types.SortOrder.Descend, SortTarget = RangeRequest.Types.SortTarget.Mod,
            },
            sent);
    }

    [Fact]
    public async Task Deleting_by_prefix_sends_the_range_and_returns_the_deleted_pairs()
    {
        DeleteResult? result = null;
        var sent = (DeleteRangeRequest)await SentBy(
            async c => result = await c.DeleteAsync("logs/", new DeleteOptions { Prefix = true, PrevKv = true }),
            new DeleteRangeResponse { Deleted = 2, PrevKvs = { new WireKeyValue { Key = B("logs/1"), Value = B("a") }, new WireKeyValue { Key = B("logs/2"), Value = B("b") } } });

        Assert.Equal((B("logs/"), B("logs0"), true), (sent.Key, sent.RangeEnd, sent.PrevKv));
        Assert.Equal(2, result!.Deleted);
        Assert.Equal(["logs/1", "logs/2"], result.PrevKvs.Select(kv => kv.KeyString));
    }

    [Fact]
    public async Task A_get_at_a_revision_that_finds_nothing_returns_null()
    {
        KvPair? found = new(default, default, 0, 0, 0, 0);
        var sent = (RangeRequest)await SentBy(async c => found = await c.GetAsync("missing", new GetOptions { Revision = 7, Serializable = true }), new RangeResponse());

        Assert.Null(found);
        Assert.Equal(new RangeRequest { Key = B("missing"), Revision = 7, Serializable = true }, sent);
    }

    [Theory]
    [InlineData(new byte[] { 0x61 }, new byte[] { 0x62 })]
    [InlineData(new byte[] { 0x61, 0xFF }, new byte[] { 0x62 })]
    [InlineData(new byte[] { 0xFF, 0xFF }, new byte[] { 0x00 })]
    public void The_prefix_end_increments_the_last_byte_below_0xFF(byte[] prefix, byte[] end) =>
        Assert.Equal(end, KeyRanges.PrefixEnd(prefix));

    [Theory]
    [InlineData("127.0.0.1:2379", "127.0.0.1:2379")]
    [InlineData("http://Node1:80/", "node1:80")]
    [InlineData("[::1]:2379", "[::1]:2379")]
    public void Endpoints_are_parsed_and_normalised(string text, string normal) =>
        Assert.Equal(normal, Routing.EndpointAddress.Parse(text).ToString());

    [Theory]
    [InlineData("localhost")]
    [InlineData("host:0")]
    [InlineData(":2379")]
    [InlineData("host:99999")]
    public void Malformed_endpoints_are_refused_when_the_client_is_created(string endpoint) =>
        Assert.Throws<ArgumentException>(() => new KvStoreClient(new KvStoreClientOptions { Endpoints = [endpoint] }));
}
