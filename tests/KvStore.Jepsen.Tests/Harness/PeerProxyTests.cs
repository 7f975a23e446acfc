using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using KvStore.Jepsen.Faults;

namespace KvStore.Jepsen.Tests.Harness;

/// <summary>
/// The fault proxy on loopback, between a fake dialer (node 1) and a fake target (node 2) that
/// speak the peer framing: each direction is cut, dropped or delayed on its own, and heals.
/// </summary>
public sealed class PeerProxyTests
{
    private const ulong Dialer = 1;
    private const ulong Target = 2;

    [Fact]
    public async Task Cutting_one_direction_silences_it_while_the_other_still_flows()
    {
        await using var link = await ProxiedLink.OpenAsync(new LinkFaultTable(seed: 1));
        link.Faults.Set(Dialer, Target, new LinkFault(Cut: true, 0, TimeSpan.Zero));

        await link.SendAsync(link.DialerStream, 10);
        await link.SendAsync(link.TargetStream, 20);
        Assert.Equal(20, await link.ReceiveAsync(link.DialerStream));
        await link.WaitUntilSeenAsync(2);

        link.Faults.Clear();
        await link.SendAsync(link.DialerStream, 11);
        Assert.Equal(11, await link.ReceiveAsync(link.TargetStream));
        Assert.Equal(1, link.Proxy.FramesDropped);
    }

    [Fact]
    public async Task Cutting_the_reverse_direction_leaves_the_forward_one_alone()
    {
        await using var link = await ProxiedLink.OpenAsync(new LinkFaultTable(seed: 1));
        link.Faults.Set(Target, Dialer, new LinkFault(Cut: true, 0, TimeSpan.Zero));

        await link.SendAsync(link.TargetStream, 30);
        await link.SendAsync(link.DialerStream, 31);
        Assert.Equal(31, await link.ReceiveAsync(link.TargetStream));
        await link.WaitUntilSeenAsync(2);

        link.Faults.Set(Target, Dialer, LinkFault.None);
        await link.SendAsync(link.TargetStream, 32);
        Assert.Equal(32, await link.ReceiveAsync(link.DialerStream));
    }

    [Fact]
    public async Task Dropping_a_share_loses_some_frames_and_keeps_the_rest_in_order()
    {
        await using var link = await ProxiedLink.OpenAsync(new LinkFaultTable(seed: 7));
        link.Faults.Set(Dialer, Target, new LinkFault(false, 0.5, TimeSpan.Zero));
        for (int i = 0; i < 200; i++)
        {
            await link.SendAsync(link.DialerStream, i);
        }

        await link.WaitUntilSeenAsync(200);
        link.Faults.Clear();
        await link.SendAsync(link.DialerStream, 1000);
        var received = new List<int>();
        int value;
        while ((value = await link.ReceiveAsync(link.TargetStream)) != 1000)
        {
            received.Add(value);
        }

        Assert.InRange(received.Count, 1, 199);
        Assert.Equal(received.Order(), received);
        Assert.Equal(200 - received.Count, link.Proxy.FramesDropped);
    }

    [Fact]
    public async Task Delayed_frames_all_arrive_in_order()
    {
        await using var link = await ProxiedLink.OpenAsync(new LinkFaultTable(seed: 1));
        link.Faults.Set(Dialer, Target, new LinkFault(false, 0, TimeSpan.FromMilliseconds(50)));
        for (int i = 0; i < 20; i++)
        {
            await link.SendAsync(link.DialerStream, i);
        }

        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(i, await link.ReceiveAsync(link.TargetStream));
        }
    }

    [Fact]
    public async Task Resetting_connections_ends_both_streams()
    {
        await using var link = await ProxiedLink.OpenAsync(new LinkFaultTable(seed: 1));
        link.Proxy.ResetConnections();
        var buffer = new byte[1];
        int read;
        try
        {
            read = await link.DialerStream.ReadAsync(buffer);
        }
        catch (IOException)
        {
            read = 0;
        }

        Assert.Equal(0, read);
    }

    /// <summary>A dialer and a target connected through a <see cref="PeerProxy"/>, handshakes exchanged.</summary>
    private sealed class ProxiedLink : IAsyncDisposable
    {
        private readonly Socket _listener;
        private readonly Socket _dialer;
        private readonly Socket _accepted;

        private ProxiedLink(LinkFaultTable faults, PeerProxy proxy, Socket listener, Socket dialer, Socket accepted)
        {
            Faults = faults;
            Proxy = proxy;
            _listener = listener;
            _dialer = dialer;
            _accepted = accepted;
            DialerStream = new NetworkStream(dialer);
            TargetStream = new NetworkStream(accepted);
        }

        public LinkFaultTable Faults { get; }

        public PeerProxy Proxy { get; }

        public NetworkStream DialerStream { get; }

        public NetworkStream TargetStream { get; }

        public static async Task<ProxiedLink> OpenAsync(LinkFaultTable faults)
        {
            var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(4);
            var proxy = new PeerProxy(Target, (IPEndPoint)listener.LocalEndPoint!, faults);
            var dialer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await dialer.ConnectAsync(proxy.EndPoint);
            await dialer.SendAsync(Handshake(Dialer));
            Socket accepted = await listener.AcceptAsync();
            var link = new ProxiedLink(faults, proxy, listener, dialer, accepted);
            Assert.Equal(Dialer, ReadSender(await ReadFrameAsync(link.TargetStream)));
            await link.TargetStream.WriteAsync(Handshake(Target));
            Assert.Equal(Target, ReadSender(await ReadFrameAsync(link.DialerStream)));
            return link;
        }

        public async Task SendAsync(NetworkStream stream, int value)
        {
            var frame = new byte[13 + 4];
            BinaryPrimitives.WriteUInt32BigEndian(frame, 4);
            frame[4] = 129;
            BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(13), value);
            await stream.WriteAsync(frame);
        }

        public async Task<int> ReceiveAsync(NetworkStream stream) => BinaryPrimitives.ReadInt32BigEndian((await ReadFrameAsync(stream)).AsSpan(13));

        /// <summary>Waits until the proxy has read <paramref name="frames"/> frames, so a fault change that follows
        /// cannot apply to them.</summary>
        public async Task WaitUntilSeenAsync(long frames)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (Proxy.FramesSeen < frames)
            {
                await Task.Delay(5, timeout.Token);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Proxy.DisposeAsync();
            DialerStream.Dispose();
            TargetStream.Dispose();
            _dialer.Dispose();
            _accepted.Dispose();
            _listener.Dispose();
        }

        private static byte[] Handshake(ulong sender)
        {
            var frame = new byte[13 + 27];
            BinaryPrimitives.WriteUInt32BigEndian(frame, 27);
            frame[4] = 128;
            frame[13] = 1;
            BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(13 + 9), sender);
            return frame;
        }

        private static ulong ReadSender(byte[] frame) => BinaryPrimitives.ReadUInt64BigEndian(frame.AsSpan(13 + 9));

        private static async Task<byte[]> ReadFrameAsync(NetworkStream stream)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var header = new byte[13];
            await stream.ReadExactlyAsync(header, timeout.Token);
            var frame = new byte[13 + BinaryPrimitives.ReadUInt32BigEndian(header)];
            header.CopyTo(frame, 0);
            await stream.ReadExactlyAsync(frame.AsMemory(13), timeout.Token);
            return frame;
        }
    }
}
