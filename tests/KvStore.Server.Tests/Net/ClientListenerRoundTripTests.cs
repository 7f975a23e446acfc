using Google.Protobuf;
using KvStore.Client;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;
using Compare = KvStore.Client.Protocol.Messages.Compare;
using KeyValue = KvStore.Client.Protocol.Messages.KeyValue;

namespace KvStore.Server.Tests.Net;

public sealed class ClientListenerRoundTripTests
{
    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    [Fact]
    public async Task Handshake_assigns_a_client_id_and_advertises_the_server_limits()
    {
        var limits = ProtocolLimits.Default with { MaxKeyBytes = 100, MaxOpsPerTxn = 7 };
        await using var server = new TestServer(new DictionaryKvHandler(), limits);

        var first = await server.ConnectAsync();
        var second = await server.ConnectAsync(new ProtocolConnectionOptions { ClientId = 777 });

        Assert.NotEqual(0UL, first.ClientId);
        Assert.Equal(777UL, second.ClientId);
        Assert.Equal(ProtocolVersion.Current, first.ServerHello.ProtocolVersion);
        Assert.Equal(42UL, first.ServerHello.Header.ClusterId);
        Assert.Equal(100, first.ServerLimits.MaxKeyBytes);
        Assert.Equal(7, first.ServerLimits.MaxOpsPerTxn);
    }

    [Fact]
    public async Task Put_then_range_returns_the_value_with_revisions_and_versions()
    {
        await using var server = new TestServer(new DictionaryKvHandler());
        var client = await server.ConnectAsync();

        var first = await client.PutAsync(new PutRequest { Key = B("a"), Value = B("1"), Session = new Session { ClientId = client.ClientId, Sequence = 1 } });
        var second = await client.PutAsync(new PutRequest { Key = B("a"), Value = B("2"), PrevKv = true });
        var range = await client.RangeAsync(new RangeRequest { Key = B("a") });

        Assert.Null(first.PrevKv);
        Assert.Equal("1", second.PrevKv.Value.ToStringUtf8());
        var kv = Assert.Single(range.Kvs);
        Assert.Equal("2", kv.Value.ToStringUtf8());
        Assert.Equal(2, kv.Version);
        Assert.Equal(first.Header.Revision, kv.CreateRevision);
        Assert.Equal(second.Header.Revision, kv.ModRevision);
    }

    [Fact]
    public async Task Range_over_a_prefix_honours_limit_keys_only_and_count_only()
    {
        await using var server = new TestServer(new DictionaryKvHandler());
        var client = await server.ConnectAsync();
        foreach (var key in new[] { "p/1", "p/2", "p/3", "q/1" })
        {
            await client.PutAsync(new PutRequest { Key = B(key), Value = B("value-of-" + key) });
        }

        var limited = await client.RangeAsync(new RangeRequest { Key = B("p/"), RangeEnd = B("p0"), Limit = 2, KeysOnly = true });
        var counted = await client.RangeAsync(new RangeRequest { Key = B("p/"), RangeEnd = B("p0"), CountOnly = true });

        Assert.Equal(["p/1", "p/2"], limited.Kvs.Select(kv => kv.Key.ToStringUtf8()));
        Assert.All(limited.Kvs, kv => Assert.True(kv.Value.IsEmpty));
        Assert.True(limited.More);
        Assert.Equal(3, limited.Count);
        Assert.Empty(counted.Kvs);
        Assert.Equal(3, counted.Count);
    }

    [Fact]
    public async Task Delete_range_returns_the_deleted_pairs()
    {
        await using var server = new TestServer(new DictionaryKvHandler());
        var client = await server.ConnectAsync();
        await client.PutAsync(new PutRequest { Key = B("d/1"), Value = B("x") });
        await client.PutAsync(new PutRequest { Key = B("d/2"), Value = B("y") });

        var deleted = await client.DeleteRangeAsync(new DeleteRangeRequest { Key = B("d/"), RangeEnd = B("d0"), PrevKv = true });
        var after = await client.RangeAsync(new RangeRequest { Key = B("d/"), RangeEnd = B("d0") });

        Assert.Equal(2, deleted.Deleted);
        Assert.Equal(["x", "y"], deleted.PrevKvs.Select(kv => kv.Value.ToStringUtf8()));
        Assert.Empty(after.Kvs);
    }

    [Fact]
    public async Task Txn_runs_the_success_branch_when_compares_hold_and_the_failure_branch_otherwise()
    {
        await using var server = new TestServer(new DictionaryKvHandler());
        var client = await server.ConnectAsync();
        await client.PutAsync(new PutRequest { Key = B("cas"), Value = B("old") });

        TxnRequest Swap(string expected, string next) => new()
        {
            Compare = { new Compare { Key = B("cas"), Target = Compare.Types.CompareTarget.Value, Result = Compare.Types.CompareResult.Equal, Value = B(expected) } },
            Success = { new RequestOp { RequestPut = new PutRequest { Key = B("cas"), Value = B(next) } } },
            Failure = { new RequestOp { RequestRange = new RangeRequest { Key = B("cas") } } },
        };

        var won = await client.TxnAsync(Swap("old", "new"));
        var lost = await client.TxnAsync(Swap("old", "newer"));

        Assert.True(won.Succeeded);
        Assert.Equal(ResponseOp.ResponseOneofCase.ResponsePut, Assert.Single(won.Responses).ResponseCase);
        Assert.False(lost.Succeeded);
        Assert.Equal("new", Assert.Single(Assert.Single(lost.Responses).ResponseRange.Kvs).Value.ToStringUtf8());
    }

    [Fact]
    public async Task Compaction_status_and_membership_messages_round_trip()
    {
        await using var server = new TestServer(new DictionaryKvHandler());
        var client = await server.ConnectAsync();
        var put = await client.PutAsync(new PutRequest { Key = B("k"), Value = B("v") });

        var compacted = await client.CompactAsync(new CompactionRequest { Revision = put.Header.Revision, Physical = true });
        var again = await Assert.ThrowsAnyAsync<KvStoreProtocolException>(() => client.CompactAsync(new CompactionRequest { Revision = put.Header.Revision }));
        var status = await client.StatusAsync(new StatusRequest());
        var added = await client.MemberAddAsync(new MemberAddRequest { Name = "n2", PeerUrls = { "127.0.0.1:2480" }, IsLearner = true });
        var promoted = await client.MemberPromoteAsync(new MemberPromoteRequest { Id = added.Member.Id });
        var removed = await client.MemberRemoveAsync(new MemberRemoveRequest { Id = 1 });
        var list = await client.MemberListAsync(new MemberListRequest { Linearizable = true });

        Assert.Equal(put.Header.Revision, compacted.Header.Revision);
        Assert.Equal(ErrorCode.Compacted, again.Code);
        Assert.Equal("n1", status.Name);
        Assert.True(status.IsLeader);
        Assert.Equal(3UL, status.RaftTerm);
        Assert.True(added.Member.IsLearner);
        Assert.False(promoted.Members.Single(m => m.Name == "n2").IsLearner);
        Assert.DoesNotContain(removed.Members, m => m.Id == 1);
        Assert.Equal(["n2"], list.Members.Select(m => m.Name));
        Assert.Equal(["127.0.0.1:2480"], list.Members[0].PeerUrls);
    }

    [Fact]
    public async Task Errors_answered_by_the_handler_arrive_as_typed_exceptions()
    {
        await using var server = new TestServer(new DictionaryKvHandler());
        var client = await server.ConnectAsync();

        var notLeader = await Assert.ThrowsAsync<NotLeaderException>(() => client.RangeAsync(new RangeRequest { Key = B("not-leader") }));
        var unavailable = await Assert.ThrowsAsync<KvStoreProtocolException>(() => client.RangeAsync(new RangeRequest { Key = B("error-message") }));
        var future = await Assert.ThrowsAsync<KvStoreProtocolException>(() => client.RangeAsync(new RangeRequest { Key = B("a"), Revision = 1_000 }));

        Assert.Equal(DictionaryKvHandler.LeaderHint, notLeader.LeaderHint);
        Assert.Equal(ErrorCode.Unavailable, unavailable.Code);
        Assert.Equal("no quorum", unavailable.ServerMessage);
        Assert.Equal(ErrorCode.FutureRevision, future.Code);
        Assert.Contains("1000", future.Message);
    }

    [Fact]
    public async Task A_handler_exception_becomes_an_internal_error_and_the_connection_stays_usable()
    {
        await using var server = new TestServer(new DictionaryKvHandler());
        var client = await server.ConnectAsync();

        var failure = await Assert.ThrowsAsync<KvStoreProtocolException>(() => client.PutAsync(new PutRequest { Key = B("boom"), Value = B("x") }));
        var next = await client.PutAsync(new PutRequest { Key = B("after"), Value = B("fine") });
        var read = await client.RangeAsync(new RangeRequest { Key = B("after") });

        Assert.Equal(ErrorCode.Internal, failure.Code);
        Assert.Contains("disk on fire", failure.Message);
        Assert.Contains("PutRequest", failure.Message);
        Assert.True(client.IsConnected);
        Assert.True(next.Header.Revision > 0);
        Assert.Equal("fine", Assert.Single(read.Kvs).Value.ToStringUtf8());
    }
}
