using System.Net;
using System.Net.Sockets;
using KvStore.Raft.Core;
using KvStore.Server.Node;

namespace KvStore.Server.Tests.FaultInjection;

/// <summary>Raft ticks count the node's clock (KvNodeOptions.Clock), so the clock nemesis reaches elections and heartbeats.</summary>
public sealed class RaftClockTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kvstore-clocknode-" + Guid.NewGuid().ToString("N")[..12]);

    [Fact]
    public async Task A_node_on_a_stopped_clock_never_campaigns_and_campaigns_once_it_moves()
    {
        var clock = new ManualTimeProvider();
        await using KvNode node = await KvNode.StartAsync(new KvNodeOptions
        {
            Name = "solo",
            DataDirectory = _dir,
            ClientUrl = $"127.0.0.1:{FreePort()}",
            PeerUrl = $"127.0.0.1:{FreePort()}",
            Clock = clock,
        });

        // Several real election timeouts (20-40 ticks of 50 ms) pass, but not one tick of its clock.
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Assert.Equal(RaftRole.Follower, node.Host.GetStatus(KvNode.DefaultGroup).Role);

        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (node.Host.GetStatus(KvNode.DefaultGroup).Role != RaftRole.Leader)
        {
            Assert.True(DateTime.UtcNow < deadline, "no election within 30 s of a moving clock");
            clock.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(20);
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
