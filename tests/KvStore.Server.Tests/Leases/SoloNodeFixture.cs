using System.Net;
using System.Net.Sockets;
using KvStore.Client;
using KvStore.Server.Node;

namespace KvStore.Server.Tests.Leases;

/// <summary>One in-process node (default Raft timing: 1 s election timeout, 3 s minimum lease TTL) and an SDK client, shared by a test class.</summary>
public sealed class SoloNodeFixture : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kvstore-leases-" + Guid.NewGuid().ToString("N")[..12]);

    public KvNode Node { get; private set; } = null!;

    public KvStoreClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Node = await KvNode.StartAsync(new KvNodeOptions
        {
            Name = "solo",
            DataDirectory = _dir,
            ClientUrl = $"127.0.0.1:{FreePort()}",
            PeerUrl = $"127.0.0.1:{FreePort()}",
        });
        Client = new KvStoreClient(new KvStoreClientOptions { Endpoints = [$"127.0.0.1:{Node.ClientEndPoint.Port}"], RequestTimeout = TimeSpan.FromSeconds(20) });
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (!Node.Leases.IsActive)
        {
            Assert.True(DateTime.UtcNow < deadline, "the node did not become leader within 30 s");
            await Task.Delay(50);
        }
    }

    public async Task DisposeAsync()
    {
        await Client.DisposeAsync();
        await Node.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
