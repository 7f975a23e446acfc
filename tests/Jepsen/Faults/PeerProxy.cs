using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace KvStore.Jepsen.Faults;

/// <summary>
/// A user-space TCP proxy in front of ONE node's peer port. Every other node reaches that node
/// through it, and it applies the <see cref="LinkFaultTable"/> to each direction separately.
/// </summary>
/// <remarks>
/// <para>Why one proxy per destination and not one per directed pair: KvStore keeps one peer
/// connection per node pair, dialed by the lower id and used in both directions, and the
/// replicated member directory gives every node the same peer URL for a member. So the proxy
/// learns who dialed from the dialer's first frame (the peer handshake: payload offset 9 holds
/// the sender's node id, u64 big-endian, see src/Server/Peers/PeerHandshake.cs) and from then on
/// treats the two byte streams of the connection as the directed links dialer to target and
/// target to dialer.</para>
/// <para>The proxy understands the peer framing (13-byte header: u32 big-endian payload length,
/// u8 type, u64 request id), so it discards or holds whole frames. Handshake frames (the first
/// frame in each direction) always pass: a cut link stays connected and silent, like a network
/// that black-holes packets, rather than refusing connections the transport would then redial.</para>
/// </remarks>
public sealed class PeerProxy : IAsyncDisposable
{
    private const int HeaderBytes = 13;

    /// <summary>Above the peer transport's own frame limit; a larger header means the stream is not peer framing.</summary>
    private const int MaxFrameBytes = 256 * 1024 * 1024;

    private readonly Socket _listener;
    private readonly IPEndPoint _target;
    private readonly LinkFaultTable _faults;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _acceptLoop;
    private readonly List<Socket> _open = [];
    private long _forwarded;
    private long _dropped;
    private long _seen;

    /// <param name="targetNodeId">The node behind <paramref name="target"/> (its member id).</param>
    public PeerProxy(ulong targetNodeId, IPEndPoint target, LinkFaultTable faults)
    {
        TargetNodeId = targetNodeId;
        _target = target;
        _faults = faults;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public ulong TargetNodeId { get; }

    /// <summary>Where the other nodes dial to reach the target.</summary>
    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    public long FramesForwarded => Interlocked.Read(ref _forwarded);

    public long FramesDropped => Interlocked.Read(ref _dropped);

    /// <summary>Frames read after the handshakes, whatever then became of them.</summary>
    public long FramesSeen => Interlocked.Read(ref _seen);

    /// <summary>Resets every connection through this proxy (both sides see the connection die and redial).</summary>
    public void ResetConnections()
    {
        Socket[] open;
        lock (_open)
        {
            open = [.. _open];
        }

        foreach (Socket socket in open)
        {
            Close(socket);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        ResetConnections();
        try
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // The loop ends with the listener.
        }

        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.NoDelay = true;
        upstream.NoDelay = true;
        Track(client);
        Track(upstream);
        try
        {
            using var connect = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            connect.CancelAfter(TimeSpan.FromSeconds(5));
            await upstream.ConnectAsync(_target, connect.Token).ConfigureAwait(false);
            using var clientStream = new NetworkStream(client, ownsSocket: false);
            using var upstreamStream = new NetworkStream(upstream, ownsSocket: false);

            // The dialer speaks first: its handshake names it.
            byte[]? handshake = await ReadFrameAsync(clientStream, _stopping.Token).ConfigureAwait(false);
            if (handshake is null || handshake.Length < HeaderBytes + 17)
            {
                return;
            }

            ulong dialer = BinaryPrimitives.ReadUInt64BigEndian(handshake.AsSpan(HeaderBytes + 9));
            await upstreamStream.WriteAsync(handshake, _stopping.Token).ConfigureAwait(false);
            Task toTarget = PumpAsync(clientStream, upstreamStream, dialer, TargetNodeId, handshakeSent: true);
            Task toDialer = PumpAsync(upstreamStream, clientStream, TargetNodeId, dialer, handshakeSent: false);
            await Task.WhenAny(toTarget, toDialer).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Either side went away: both are closed below and the dialer redials.
        }
        finally
        {
            Close(client);
            Close(upstream);
        }
    }

    /// <summary>
    /// Copies frames from <paramref name="source"/> to <paramref name="destination"/>, applying the
    /// fault of the directed link <paramref name="from"/> to <paramref name="to"/> to each one. One
    /// writer task releases frames in arrival order, each at its arrival time plus the delay.
    /// </summary>
    private async Task PumpAsync(Stream source, Stream destination, ulong from, ulong to, bool handshakeSent)
    {
        var queue = Channel.CreateUnbounded<(byte[] Frame, long ReleaseAt)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        Task writer = WriteLoopAsync(queue.Reader, destination);
        try
        {
            bool first = !handshakeSent;
            while (true)
            {
                byte[]? frame = await ReadFrameAsync(source, _stopping.Token).ConfigureAwait(false);
                if (frame is null)
                {
                    return;
                }

                if (!first)
                {
                    Interlocked.Increment(ref _seen);
                }

                LinkFault fault = first ? LinkFault.None : _faults.Get(from, to);
                first = false;
                if (_faults.ShouldDrop(fault))
                {
                    Interlocked.Increment(ref _dropped);
                    continue;
                }

                long releaseAt = Environment.TickCount64 + (long)fault.Delay.TotalMilliseconds;
                queue.Writer.TryWrite((frame, releaseAt));
                if (writer.IsCompleted)
                {
                    return;
                }
            }
        }
        finally
        {
            queue.Writer.TryComplete();
        }
    }

    private async Task WriteLoopAsync(ChannelReader<(byte[] Frame, long ReleaseAt)> queue, Stream destination)
    {
        try
        {
            await foreach ((byte[] frame, long releaseAt) in queue.ReadAllAsync(_stopping.Token).ConfigureAwait(false))
            {
                long wait = releaseAt - Environment.TickCount64;
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(wait), _stopping.Token).ConfigureAwait(false);
                }

                await destination.WriteAsync(frame, _stopping.Token).ConfigureAwait(false);
                Interlocked.Increment(ref _forwarded);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection is gone; the reader side notices too.
        }
    }

    /// <summary>One whole frame (header and payload), or null at a clean end of stream.</summary>
    private static async Task<byte[]?> ReadFrameAsync(Stream stream, CancellationToken cancellationToken)
    {
        var header = new byte[HeaderBytes];
        int read = await stream.ReadAtLeastAsync(header, HeaderBytes, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read < HeaderBytes)
        {
            return null;
        }

        uint length = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (length > MaxFrameBytes)
        {
            throw new IOException($"a peer frame announces {length} bytes; this is not peer framing");
        }

        var frame = new byte[HeaderBytes + (int)length];
        header.CopyTo(frame, 0);
        await stream.ReadExactlyAsync(frame.AsMemory(HeaderBytes), cancellationToken).ConfigureAwait(false);
        return frame;
    }

    private void Track(Socket socket)
    {
        lock (_open)
        {
            _open.Add(socket);
        }
    }

    private void Close(Socket socket)
    {
        lock (_open)
        {
            _open.Remove(socket);
        }

        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already closed.
        }

        socket.Dispose();
    }
}
