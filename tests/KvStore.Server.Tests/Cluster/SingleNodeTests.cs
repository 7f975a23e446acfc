using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;
using KvStore.Server.Node;

namespace KvStore.Server.Tests.Cluster;

/// <summary>A one-node cluster hosted in the test process: the wiring of KvNode without process management.</summary>
public sealed class SingleNodeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kvstore-node-" + Guid.NewGuid().ToString("N")[..12]);

    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    [Fact]
    public async Task A_one_node_cluster_elects_itself_serves_writes_and_keeps_them_across_a_restart()
    {
        KvNodeOptions options = Options();
        long revision;
        await using (KvNode node = await KvNode.StartAsync(options))
        {
            await using var client = await ConnectAsync(node);
            await BasicOperationTests.WaitUntilAsync(async () => (await client.StatusAsync(new StatusRequest())).IsLeader);
            revision = (await client.PutAsync(new PutRequest { Key = B("a"), Value = B("1") })).Header.Revision;
            var range = await client.RangeAsync(new RangeRequest { Key = B("a") });
            Assert.Equal("1", Assert.Single(range.Kvs).Value.ToStringUtf8());
        }

        await using (KvNode node = await KvNode.StartAsync(options))
        {
            await using var client = await ConnectAsync(node);
            await BasicOperationTests.WaitUntilAsync(async () => (await client.StatusAsync(new StatusRequest())).IsLeader);
            var range = await client.RangeAsync(new RangeRequest { Key = B("a") });
            Assert.Equal(revision, Assert.Single(range.Kvs).ModRevision);
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private KvNodeOptions Options()
    {
        int client = FreePort();
        int peer = FreePort();
        return new KvNodeOptions
        {
            Name = "solo",
            DataDirectory = _dir,
            ClientUrl = $"127.0.0.1:{client}",
            PeerUrl = $"127.0.0.1:{peer}",
        };
    }

    private static Task<ProtocolConnection> ConnectAsync(KvNode node) =>
        ProtocolConnection.ConnectAsync(node.ClientEndPoint.Address.ToString(), node.ClientEndPoint.Port);

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
