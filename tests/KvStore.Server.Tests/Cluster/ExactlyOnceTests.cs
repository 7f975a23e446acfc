using Google.Protobuf;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Server.Tests.Cluster;

/// <summary>A retried write whose response was lost is applied once (Raft dissertation §6.3).</summary>
[Collection(ProcessCluster.Collection)]
public sealed class ExactlyOnceTests
{
    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    [Fact]
    public async Task A_write_resent_with_the_same_session_sequence_after_a_dropped_connection_is_applied_once()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3);
        ClusterNode leader = await cluster.WaitForLeaderAsync();
        var session = new Session { ClientId = 424242, Sequence = 7 };
        var request = new PutRequest { Key = B("counter"), Value = B("once"), Session = session };

        // Send, then drop the connection without reading the answer.
        (string host, int port) = KvStore.Server.Peers.PeerAddress.Parse(leader.ClientUrl);
        using (var raw = await Net.RawClient.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(host), port)))
        {
            await raw.SendAsync([.. Net.RawClient.HelloFrame(), .. Net.RawClient.Frame(Client.Protocol.FrameType.PutRequest, 2, request)]);
        }

        var observer = await cluster.ConnectAsync(leader);
        await BasicOperationTests.WaitUntilAsync(async () => (await observer.RangeAsync(new RangeRequest { Key = B("counter") })).Kvs.Count == 1);
        KeyValue first = (await observer.RangeAsync(new RangeRequest { Key = B("counter") })).Kvs[0];

        // The retry gets the saved answer; the key is not written a second time.
        PutResponse retried = await cluster.SendToLeaderAsync<PutResponse>(request);
        KeyValue after = (await observer.RangeAsync(new RangeRequest { Key = B("counter") })).Kvs[0];
        Assert.Equal(1, after.Version);
        Assert.Equal(first.ModRevision, after.ModRevision);
        Assert.Equal(first.ModRevision, retried.Header.Revision);

        // The next sequence number is a new write.
        PutResponse next = await cluster.SendToLeaderAsync<PutResponse>(new PutRequest { Key = B("counter"), Value = B("twice"), Session = new Session { ClientId = 424242, Sequence = 8 } });
        KeyValue latest = (await observer.RangeAsync(new RangeRequest { Key = B("counter") })).Kvs[0];
        Assert.Equal(2, latest.Version);
        Assert.Equal(next.Header.Revision, latest.ModRevision);
    }
}
