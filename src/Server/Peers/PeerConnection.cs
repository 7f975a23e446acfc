using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using KvStore.Client.Protocol;
using KvStore.Raft.Codec;
using KvStore.Raft.Core;
using Microsoft.Extensions.Logging;

namespace KvStore.Server.Peers;

/// <summary>
/// One established (handshaken) TCP connection to a peer. It reads Raft batches until the socket
/// fails and hands them to the receiver; <see cref="WriteAsync"/> is called by one writer at a time
/// (the link's send loop).
/// </summary>
internal sealed class PeerConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly PipeReader _reader;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    public PeerConnection(Socket socket, NetworkStream stream, PipeReader reader, ulong peerId)
    {
        _socket = socket;
        _stream = stream;
        _reader = reader;
        PeerId = peerId;
    }

    public ulong PeerId { get; }

    /// <summary>Completes when the connection is closed, by either side or by a failure.</summary>
    public Task Closed => _closed.Task;

    /// <summary>Writes one already-framed batch and flushes it.</summary>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> frames, CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(frames, cancellationToken).ConfigureAwait(false);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads batches until the connection ends. A malformed frame or a message not from this peer
    /// closes the connection (the peer reconnects; Raft retransmits what was lost).
    /// </summary>
    public async Task ReadLoopAsync(int maxFrameBytes, Action<IReadOnlyList<Message>> receive, ulong localNode, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                ReadResult result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                bool stop = false;
                while (!stop)
                {
                    FrameReadStatus status = FrameReader.TryReadFrame(ref buffer, maxFrameBytes, out Frame frame);
                    if (status == FrameReadStatus.Incomplete)
                    {
                        break;
                    }

                    if (status == FrameReadStatus.TooLarge)
                    {
                        logger.LogWarning("peer {Peer:x16}: frame of {Bytes} bytes exceeds the {Limit}-byte limit; closing", PeerId, frame.Header.PayloadLength, maxFrameBytes);
                        return;
                    }

                    if (frame.Type != PeerFrameTypes.RaftBatch)
                    {
                        logger.LogWarning("peer {Peer:x16}: unexpected frame type {Type}; closing", PeerId, (byte)frame.Type);
                        return;
                    }

                    List<Message> batch;
                    try
                    {
                        batch = MessageCodec.DecodeBatch(frame.Payload);
                    }
                    catch (MessageFormatException ex)
                    {
                        logger.LogWarning("peer {Peer:x16}: malformed Raft batch: {Error}; closing", PeerId, ex.Message);
                        return;
                    }

                    foreach (Message m in batch)
                    {
                        if (m.From != PeerId || m.To != localNode)
                        {
                            logger.LogWarning("peer {Peer:x16}: message from {From} to {To} on this link; closing", PeerId, m.From, m.To);
                            stop = true;
                            break;
                        }
                    }

                    if (!stop && batch.Count > 0)
                    {
                        receive(batch);
                    }
                }

                if (stop)
                {
                    return;
                }

                _reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The peer went away or we are stopping: the link reconnects.
        }
        finally
        {
            Dispose();
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already reset by the peer.
        }
        catch (ObjectDisposedException)
        {
            // Already closed.
        }

        _stream.Dispose();
        _socket.Dispose();
        _closed.TrySetResult();
    }
}
