using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using KvStore.Raft.Core;
using KvStore.Server.Peers;

namespace KvStore.Server.Tests.Peers;

/// <summary>Two peer transports on loopback: batches of several groups, reconnects, hostile connections.</summary>
public sealed class TcpPeerTransportTests
{
    private const ulong Cluster = 0xC1;

    private static TcpPeerTransport Start(ulong id, ulong cluster = Cluster, int port = 0)
    {
        var transport = new TcpPeerTransport(new PeerTransportOptions
        {
            NodeId = id,
            ClusterId = cluster,
            ListenEndPoint = new IPEndPoint(IPAddress.Loopback, port),
            ClientUrl = $"127.0.0.1:{9000 + (int)id}",
            MinReconnectDelay = TimeSpan.FromMilliseconds(20),
            MaxReconnectDelay = TimeSpan.FromMilliseconds(200),
        });
        transport.Start();
        return transport;
    }

    private static Message Append(ulong group, ulong from, ulong to, long index) => new()
    {
        Type = MessageType.Append,
        Group = group,
        From = from,
        To = to,
        Term = 3,
        Index = index,
        Entries = [Entry.Normal(index + 1, 3, new byte[] { (byte)index, 42 })],
    };

    private static async Task<List<Message>> ReceiveAsync(BlockingCollection<Message> inbox, int count)
    {
        var received = new List<Message>();
        DateTime deadline = DateTime.UtcNow.AddSeconds(20);
        while (received.Count < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"received {received.Count} of {count} messages");
            if (inbox.TryTake(out Message? m, 50))
            {
                received.Add(m);
            }

            await Task.Yield();
        }

        return received;
    }

    private static BlockingCollection<Message> Inbox(TcpPeerTransport transport)
    {
        var inbox = new BlockingCollection<Message>();
        transport.SetReceiver(batch =>
        {
            foreach (Message m in batch)
            {
                inbox.Add(m);
            }
        });
        return inbox;
    }

    [Fact]
    public async Task Two_transports_exchange_batches_of_several_groups_in_both_directions_over_one_connection()
    {
        using TcpPeerTransport one = Start(1);
        using TcpPeerTransport two = Start(2);
        BlockingCollection<Message> inboxOne = Inbox(one);
        BlockingCollection<Message> inboxTwo = Inbox(two);
        one.SetPeer(2, $"127.0.0.1:{two.LocalEndPoint.Port}");
        two.SetPeer(1, $"127.0.0.1:{one.LocalEndPoint.Port}");

        one.Send(2, [Append(1, 1, 2, 10), Append(7, 1, 2, 20)]);
        two.Send(1, [Append(1, 2, 1, 30)]);

        List<Message> atTwo = await ReceiveAsync(inboxTwo, 2);
        List<Message> atOne = await ReceiveAsync(inboxOne, 1);
        Assert.Equal([1UL, 7UL], atTwo.Select(m => m.Group).Order());
        Assert.Equal(20, atTwo.Single(m => m.Group == 7).Index);
        Assert.Equal(new byte[] { 20, 42 }, atTwo.Single(m => m.Group == 7).Entries[0].Data.ToArray());
        Assert.Equal(30, Assert.Single(atOne).Index);

        // One connection serves both directions, and each side learned the other's client URL.
        Assert.True(one.IsConnected(2));
        Assert.True(two.IsConnected(1));
        Assert.Equal("127.0.0.1:9002", one.AnnouncedClientUrls[2]);
        Assert.Equal("127.0.0.1:9001", two.AnnouncedClientUrls[1]);
    }

    [Fact]
    public async Task The_lower_id_redials_after_the_peer_restarts_and_messages_flow_again()
    {
        using TcpPeerTransport one = Start(1);
        TcpPeerTransport two = Start(2);
        int port = two.LocalEndPoint.Port;
        one.SetPeer(2, $"127.0.0.1:{port}");
        BlockingCollection<Message> inbox = Inbox(two);
        one.Send(2, [Append(1, 1, 2, 1)]);
        await ReceiveAsync(inbox, 1);

        two.Dispose();
        using TcpPeerTransport again = Start(2, port: port);
        BlockingCollection<Message> inboxAgain = Inbox(again);

        // Raft retransmits: keep sending until the new incarnation hears one.
        DateTime deadline = DateTime.UtcNow.AddSeconds(20);
        while (inboxAgain.Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "no message reached the restarted peer");
            one.Send(2, [Append(1, 1, 2, 5)]);
            await Task.Delay(50);
        }

        Assert.Equal(5, inboxAgain.Take().Index);
    }

    [Fact]
    public async Task Garbage_a_foreign_cluster_and_forged_senders_are_refused_and_the_transport_keeps_working()
    {
        using TcpPeerTransport one = Start(1);
        using TcpPeerTransport two = Start(2);
        BlockingCollection<Message> inbox = Inbox(two);
        var peerPort = new IPEndPoint(IPAddress.Loopback, two.LocalEndPoint.Port);

        // Random bytes, then an oversized header, on the peer port.
        foreach (byte[] junk in new[] { RandomBytes(4096), [0xFF, 0xFF, 0xFF, 0xFF, 130, 0, 0, 0, 0, 0, 0, 0, 0] })
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(peerPort);
            await socket.SendAsync(junk, SocketFlags.None);
            Assert.Equal(0, await ReadUntilClosedAsync(socket));
        }

        // A node of another cluster is refused in the handshake.
        using (TcpPeerTransport foreign = Start(1, cluster: 0xBAD))
        {
            foreign.SetPeer(2, $"127.0.0.1:{two.LocalEndPoint.Port}");
            foreign.Send(2, [Append(1, 1, 2, 99)]);
            await Task.Delay(500);
            Assert.False(two.IsConnected(1));
        }

        // A message claiming another sender closes that connection; the honest link still works.
        one.SetPeer(2, $"127.0.0.1:{two.LocalEndPoint.Port}");
        one.Send(2, [Append(1, 3, 2, 66)]);
        DateTime deadline = DateTime.UtcNow.AddSeconds(20);
        while (inbox.Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the honest peer was not heard");
            one.Send(2, [Append(1, 1, 2, 7)]);
            await Task.Delay(50);
        }

        Assert.All(inbox.ToArray(), m => Assert.Equal(1UL, m.From));
    }

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(11).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Reads until the server closes; returns how many bytes it sent back (a refusal sends none).</summary>
    private static async Task<int> ReadUntilClosedAsync(Socket socket)
    {
        var buffer = new byte[1024];
        int total = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (true)
        {
            int read;
            try
            {
                read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            }
            catch (SocketException)
            {
                return total;
            }

            if (read == 0)
            {
                return total;
            }

            total += read;
        }
    }
}
