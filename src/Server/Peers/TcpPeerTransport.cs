using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using KvStore.Client.Protocol;
using KvStore.Raft.Core;
using KvStore.Raft.Host;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvStore.Server.Peers;

/// <summary>
/// Raft messages between nodes over TCP, with the client protocol's framing (13-byte header,
/// <see cref="PeerFrameTypes"/>) carrying <c>MessageCodec</c> batches of every group.
/// </summary>
/// <remarks>
/// <para><b>One connection per node pair</b>, used in both directions. The node with the LOWER
/// id dials; the higher one only accepts. So there is never a duplicate to resolve, and after
/// either side restarts the lower one redials (exponential backoff from
/// <see cref="PeerTransportOptions.MinReconnectDelay"/> to <see cref="PeerTransportOptions.MaxReconnectDelay"/>,
/// ±50% jitter so that a restarted cluster does not reconnect in lockstep). Should a second
/// connection from the same peer arrive anyway (the peer restarted before we noticed the old
/// one died), the newer replaces the older.</para>
/// <para><b>Handshake.</b> Both ends first send a <see cref="PeerHandshake"/>; a connection from
/// another cluster, or reaching a node other than the one dialed, is refused with a log line
/// naming both ids.</para>
/// <para><b>Queues are bounded</b> (<see cref="PeerTransportOptions.MaxQueuedMessagesPerPeer"/>):
/// past it the oldest messages are dropped and counted. <see cref="Send"/> never blocks. Raft
/// tolerates loss: it retransmits on the next heartbeat or probe.</para>
/// <para><b>Batching.</b> Each peer's send loop drains its whole queue into one frame, one write
/// and one flush.</para>
/// </remarks>
public sealed class TcpPeerTransport : IRaftTransport
{
    private readonly PeerTransportOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<ulong, PeerLink> _links = new();
    private readonly ConcurrentDictionary<ulong, string> _clientUrls = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _startLock = new();
    private Socket? _listener;
    private Task? _acceptLoop;
    private volatile Action<IReadOnlyList<Message>> _receiver = static _ => { };

    public TcpPeerTransport(PeerTransportOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.NodeId == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "node id 0 is reserved for 'none'");
        }

        _options = options;
        _logger = logger ?? NullLogger.Instance;
    }

    public ulong LocalNode => _options.NodeId;

    /// <summary>Where peers reach this node; valid after <see cref="Start"/>.</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint?)_listener?.LocalEndPoint ?? throw new InvalidOperationException("the peer transport has not been started");

    /// <summary>Binds the peer port and starts accepting connections.</summary>
    public void Start()
    {
        lock (_startLock)
        {
            if (_listener is not null)
            {
                return;
            }

            var listener = new Socket(_options.ListenEndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                listener.Bind(_options.ListenEndPoint);
                listener.Listen(128);
            }
            catch
            {
                listener.Dispose();
                throw;
            }

            _listener = listener;
            _acceptLoop = Task.Run(AcceptLoopAsync);
        }
    }

    /// <summary>
    /// Tells the transport where <paramref name="peerId"/> listens (host:port). When this node's id
    /// is lower, it keeps a connection to that address open from now on.
    /// </summary>
    public void SetPeer(ulong peerId, string address)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        if (peerId == LocalNode)
        {
            return;
        }

        PeerLink link = GetLink(peerId);
        lock (link)
        {
            if (link.Address == address)
            {
                return;
            }

            bool startDialing = link.Address is null && LocalNode < peerId;
            link.Address = address;
            if (startDialing)
            {
                _ = Task.Run(() => DialLoopAsync(link));
            }
        }
    }

    /// <summary>Forgets a removed peer: closes its connection and drops its queue.</summary>
    public void RemovePeer(ulong peerId)
    {
        if (_links.TryRemove(peerId, out PeerLink? link))
        {
            link.Dispose();
        }
    }

    /// <summary>Messages to <paramref name="peerId"/> dropped so far (queue full or connection lost).</summary>
    public long DroppedMessages(ulong peerId) => _links.TryGetValue(peerId, out PeerLink? link) ? link.Dropped : 0;

    /// <summary>Whether a connection to <paramref name="peerId"/> is currently up.</summary>
    public bool IsConnected(ulong peerId) => _links.TryGetValue(peerId, out PeerLink? link) && link.IsConnected;

    public void Send(ulong toNode, IReadOnlyList<Message> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0 || _stopping.IsCancellationRequested)
        {
            return;
        }

        GetLink(toNode).Enqueue(batch);
    }

    public void SetReceiver(Action<IReadOnlyList<Message>> receiver)
    {
        ArgumentNullException.ThrowIfNull(receiver);
        _receiver = receiver;
    }

    public void Dispose()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _stopping.Cancel();
        _listener?.Dispose();
        foreach (PeerLink link in _links.Values)
        {
            link.Dispose();
        }

        try
        {
            _acceptLoop?.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The accept loop ends with the listener's disposal; its exception is of no interest.
        }
    }

    private PeerLink GetLink(ulong peerId)
    {
        if (_links.TryGetValue(peerId, out PeerLink? existing))
        {
            return existing;
        }

        var created = new PeerLink(peerId, _options.MaxQueuedMessagesPerPeer, _logger);
        PeerLink link = _links.GetOrAdd(peerId, created);
        if (ReferenceEquals(link, created))
        {
            _ = Task.Run(() => RunSendLoopAsync(link));
        }

        return link;
    }

    private async Task RunSendLoopAsync(PeerLink link)
    {
        try
        {
            await link.SendLoopAsync(_stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "peer {Peer:x16}: send loop failed", link.PeerId);
        }
    }

    private async Task AcceptLoopAsync()
    {
        Socket listener = _listener!;
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            _ = Task.Run(() => AcceptAsync(socket));
        }
    }

    private async Task AcceptAsync(Socket socket)
    {
        socket.NoDelay = true;
        var stream = new NetworkStream(socket, ownsSocket: false);
        var reader = PipeReader.Create(stream);
        EndPoint? remote = socket.RemoteEndPoint;
        PeerHandshake theirs;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            timeout.CancelAfter(_options.ConnectTimeout);
            theirs = await ReadHandshakeAsync(reader, timeout.Token).ConfigureAwait(false);
            if (theirs.ClusterId != _options.ClusterId)
            {
                throw new InvalidDataException($"node {theirs.NodeId:x16} at {remote} belongs to cluster {theirs.ClusterId:x16}, this node ({LocalNode:x16}) to cluster {_options.ClusterId:x16}: refused");
            }

            if (theirs.ExpectedPeer != 0 && theirs.ExpectedPeer != LocalNode)
            {
                throw new InvalidDataException($"node {theirs.NodeId:x16} at {remote} dialed node {theirs.ExpectedPeer:x16}, but this is node {LocalNode:x16}: refused (check the peer URLs)");
            }

            if (theirs.NodeId == LocalNode)
            {
                throw new InvalidDataException($"a connection from {remote} claims this node's own id {LocalNode:x16}: refused");
            }

            await WriteHandshakeAsync(stream, new PeerHandshake(_options.ClusterId, LocalNode, 0, _options.ClientUrl), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or SocketException or OperationCanceledException)
        {
            if (!_stopping.IsCancellationRequested)
            {
                _logger.LogWarning("peer connection from {Remote} refused: {Error}", remote, ex.Message);
            }

            await reader.CompleteAsync().ConfigureAwait(false);
            stream.Dispose();
            socket.Dispose();
            return;
        }

        _logger.LogInformation("peer {Peer:x16} connected from {Remote}", theirs.NodeId, remote);
        RecordClientUrl(theirs);
        var connection = new PeerConnection(socket, stream, reader, theirs.NodeId);
        GetLink(theirs.NodeId).Attach(connection);
        await connection.ReadLoopAsync(_options.MaxFrameBytes, Receive, LocalNode, _logger, _stopping.Token).ConfigureAwait(false);
    }

    private async Task DialLoopAsync(PeerLink link)
    {
        int failures = 0;
        while (!_stopping.IsCancellationRequested && _links.TryGetValue(link.PeerId, out PeerLink? current) && ReferenceEquals(current, link))
        {
            string? address = link.Address;
            PeerConnection? connection = null;
            if (address is not null)
            {
                try
                {
                    connection = await DialAsync(link.PeerId, address).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is InvalidDataException or IOException or SocketException or OperationCanceledException or FormatException)
                {
                    if (_stopping.IsCancellationRequested)
                    {
                        return;
                    }

                    if (failures == 0 || ex is InvalidDataException)
                    {
                        _logger.LogWarning("peer {Peer:x16} at {Address}: {Error}; retrying with backoff", link.PeerId, address, ex.Message);
                    }
                }
            }

            if (connection is not null)
            {
                failures = 0;
                _logger.LogInformation("peer {Peer:x16} connected at {Address}", link.PeerId, address);
                link.Attach(connection);
                await connection.ReadLoopAsync(_options.MaxFrameBytes, Receive, LocalNode, _logger, _stopping.Token).ConfigureAwait(false);
                continue;
            }

            failures++;
            try
            {
                await Task.Delay(ReconnectDelay(failures), _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Exponential backoff with ±50% jitter.</summary>
    private TimeSpan ReconnectDelay(int failures)
    {
        double baseMs = _options.MinReconnectDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 20));
        baseMs = Math.Min(baseMs, _options.MaxReconnectDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(baseMs * (0.5 + Random.Shared.NextDouble()));
    }

    private async Task<PeerConnection> DialAsync(ulong peerId, string address)
    {
        (string host, int port) = PeerAddress.Parse(address);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        NetworkStream? stream = null;
        PipeReader? reader = null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            timeout.CancelAfter(_options.ConnectTimeout);
            await socket.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
            stream = new NetworkStream(socket, ownsSocket: false);
            reader = PipeReader.Create(stream);
            await WriteHandshakeAsync(stream, new PeerHandshake(_options.ClusterId, LocalNode, peerId, _options.ClientUrl), timeout.Token).ConfigureAwait(false);
            PeerHandshake theirs = await ReadHandshakeAsync(reader, timeout.Token).ConfigureAwait(false);
            if (theirs.ClusterId != _options.ClusterId)
            {
                throw new InvalidDataException($"the node at {address} belongs to cluster {theirs.ClusterId:x16}, this node ({LocalNode:x16}) to cluster {_options.ClusterId:x16}: refused");
            }

            if (theirs.NodeId != peerId)
            {
                throw new InvalidDataException($"expected node {peerId:x16} at {address} but node {theirs.NodeId:x16} answered: refused (check the peer URLs)");
            }

            RecordClientUrl(theirs);
            return new PeerConnection(socket, stream, reader, peerId);
        }
        catch
        {
            if (reader is not null)
            {
                await reader.CompleteAsync().ConfigureAwait(false);
            }

            stream?.Dispose();
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The client URL each peer announced in its last handshake.</summary>
    public IReadOnlyDictionary<ulong, string> AnnouncedClientUrls => _clientUrls;

    private void RecordClientUrl(PeerHandshake handshake)
    {
        if (handshake.ClientUrl.Length > 0)
        {
            _clientUrls[handshake.NodeId] = handshake.ClientUrl;
        }
    }

    private void Receive(IReadOnlyList<Message> batch) => _receiver(batch);

    private static async Task WriteHandshakeAsync(NetworkStream stream, PeerHandshake handshake, CancellationToken cancellationToken)
    {
        var output = new ArrayBufferWriter<byte>(FrameHeader.Size + PeerHandshake.MaxSize);
        FrameWriter.Write(output, PeerFrameTypes.Handshake, 0, handshake.Encode());
        await stream.WriteAsync(output.WrittenMemory, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<PeerHandshake> ReadHandshakeAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            FrameReadStatus status = FrameReader.TryReadFrame(ref buffer, PeerHandshake.MaxSize, out Frame frame);
            if (status == FrameReadStatus.Complete)
            {
                if (frame.Type != PeerFrameTypes.Handshake)
                {
                    throw new InvalidDataException($"the first frame is of type {(byte)frame.Type}, not a peer handshake");
                }

                PeerHandshake handshake = PeerHandshake.Decode(frame.Payload.ToArray());
                reader.AdvanceTo(buffer.Start);
                return handshake;
            }

            if (status == FrameReadStatus.TooLarge)
            {
                throw new InvalidDataException($"the first frame announces {frame.Header.PayloadLength} bytes; a peer handshake has at most {PeerHandshake.MaxSize}");
            }

            if (result.IsCompleted)
            {
                throw new IOException("the connection closed during the peer handshake");
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }
}
