using Google.Protobuf;
using KvStore.Client;
using KvStore.Client.Protocol.Messages;
using Compare = KvStore.Client.Protocol.Messages.Compare;

namespace KvStore.Server.Tests.Cluster;

/// <summary>Put, get, delete and txn against a real three-process cluster through the native protocol.</summary>
[Collection(ProcessCluster.Collection)]
public sealed class BasicOperationTests
{
    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    [Fact]
    public async Task Put_get_delete_and_txn_work_on_a_three_node_cluster_and_followers_redirect_writes()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3);
        ClusterNode leader = await cluster.WaitForLeaderAsync();
        var client = await cluster.ConnectAsync(leader);

        PutResponse put = await client.PutAsync(new PutRequest { Key = B("greeting"), Value = B("hello") });
        RangeResponse got = await client.RangeAsync(new RangeRequest { Key = B("greeting") });
        Assert.Equal("hello", Assert.Single(got.Kvs).Value.ToStringUtf8());
        Assert.Equal(put.Header.Revision, got.Kvs[0].ModRevision);

        TxnResponse txn = await client.TxnAsync(new TxnRequest
        {
            Compare = { new Compare { Key = B("greeting"), Target = Compare.Types.CompareTarget.Value, Result = Compare.Types.CompareResult.Equal, Value = B("hello") } },
            Success = { new RequestOp { RequestPut = new PutRequest { Key = B("greeting"), Value = B("bonjour") } } },
            Failure = { new RequestOp { RequestPut = new PutRequest { Key = B("greeting"), Value = B("unexpected") } } },
        });
        Assert.True(txn.Succeeded);

        DeleteRangeResponse deleted = await client.DeleteRangeAsync(new DeleteRangeRequest { Key = B("greeting"), PrevKv = true });
        Assert.Equal(1, deleted.Deleted);
        Assert.Equal("bonjour", Assert.Single(deleted.PrevKvs).Value.ToStringUtf8());
        Assert.Empty((await client.RangeAsync(new RangeRequest { Key = B("greeting") })).Kvs);

        // A follower refuses the write and names the leader's client URL; serializable reads are local.
        ClusterNode follower = cluster.Nodes.First(n => n != leader);
        var followerClient = await cluster.ConnectAsync(follower);
        var refused = await Assert.ThrowsAsync<NotLeaderException>(() => followerClient.PutAsync(new PutRequest { Key = B("k"), Value = B("v") }));
        Assert.Equal(leader.ClientUrl, refused.LeaderHint);

        await client.PutAsync(new PutRequest { Key = B("seen-everywhere"), Value = B("yes") });
        await WaitUntilAsync(async () => (await followerClient.RangeAsync(new RangeRequest { Key = B("seen-everywhere"), Serializable = true })).Kvs.Count == 1);
    }

    internal static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within 30 s");
            await Task.Delay(100);
        }
    }
}
