using System.Buffers;
using KvStore.Client.Protocol;
using KvStore.Raft.Codec;
using KvStore.Raft.Core;
using Microsoft.Extensions.Logging;

namespace KvStore.Server.Peers;

/// <summary>
/// Everything this node keeps for one peer: the bounded queue of outgoing messages, the current
/// connection (dialed by this node when its id is lower, accepted otherwise), and the send loop
/// that drains the whole queue into one frame, one write and one flush.
/// </summary>
internal sealed class PeerLink : IDisposable
{
    private readonly object _lock = new();
    private readonly Queue<Message> _queue = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _closed = new();
    private readonly int _capacity;
    private readonly ILogger _logger;
    private PeerConnection? _connection;
    private long _dropped;
    private long _sent;

    public PeerLink(ulong peerId, int capacity, ILogger logger)
    {
        PeerId = peerId;
        _capacity = capacity;
        _logger = logger;
    }

    public ulong PeerId { get; }

    /// <summary>host:port this node dials, when it is the dialing side; null when unknown.</summary>
    public string? Address { get; set; }

    /// <summary>Messages dropped because the queue was full or the write failed.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Messages written to a connection.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    public bool IsConnected
    {
        get
        {
            lock (_lock)
            {
                return _connection is not null;
            }
        }
    }

    public void Enqueue(IReadOnlyList<Message> batch)
    {
        int dropped = 0;
        lock (_lock)
        {
            foreach (Message m in batch)
            {
                if (_queue.Count >= _capacity)
                {
                    _queue.Dequeue();
                    dropped++;
                }

                _queue.Enqueue(m);
            }
        }

        if (dropped > 0)
        {
            long total = Interlocked.Add(ref _dropped, dropped);
            if (total == dropped || total / 1000 != (total - dropped) / 1000)
            {
                _logger.LogWarning("peer {Peer:x16}: send queue full, {Total} messages dropped so far", PeerId, total);
            }
        }

        _signal.Release();
    }

    /// <summary>Makes <paramref name="connection"/> the link's connection, closing a previous one (the newer wins).</summary>
    public void Attach(PeerConnection connection)
    {
        PeerConnection? previous;
        lock (_lock)
        {
            previous = _connection;
            _connection = connection;
        }

        previous?.Dispose();
        _ = connection.Closed.ContinueWith(_ => Detach(connection), TaskScheduler.Default);
        _signal.Release();
    }

    private void Detach(PeerConnection connection)
    {
        lock (_lock)
        {
            if (ReferenceEquals(_connection, connection))
            {
                _connection = null;
            }
        }
    }

    /// <summary>Sends queued messages whenever there are some and a connection is up.</summary>
    public async Task SendLoopAsync(CancellationToken stopping)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, _closed.Token);
        CancellationToken cancellationToken = linked.Token;
        var messages = new List<Message>();
        var output = new ArrayBufferWriter<byte>(64 * 1024);
        var payload = new ArrayBufferWriter<byte>(64 * 1024);
        while (true)
        {
            await _signal.WaitAsync(cancellationToken).ConfigureAwait(false);
            PeerConnection? connection;
            lock (_lock)
            {
                connection = _connection;
                if (connection is null)
                {
                    // Keep the messages (bounded) for the next connection.
                    continue;
                }

                messages.Clear();
                while (_queue.TryDequeue(out Message? m))
                {
                    messages.Add(m);
                }
            }

            if (messages.Count == 0)
            {
                continue;
            }

            payload.ResetWrittenCount();
            MessageCodec.EncodeBatch(messages, payload);
            output.ResetWrittenCount();
            FrameWriter.Write(output, PeerFrameTypes.RaftBatch, 0, payload.WrittenSpan);
            try
            {
                await connection.WriteAsync(output.WrittenMemory, cancellationToken).ConfigureAwait(false);
                Interlocked.Add(ref _sent, messages.Count);
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
            {
                Interlocked.Add(ref _dropped, messages.Count);
                _logger.LogDebug("peer {Peer:x16}: write failed ({Error}); {Count} messages dropped", PeerId, ex.Message, messages.Count);
                connection.Dispose();
            }

            if (output.Capacity > 16 << 20)
            {
                // A snapshot went through: do not keep its buffers alive.
                output = new ArrayBufferWriter<byte>(64 * 1024);
                payload = new ArrayBufferWriter<byte>(64 * 1024);
            }
        }
    }

    /// <summary>Closes the connection and ends the send loop; queued messages are dropped.</summary>
    public void Dispose()
    {
        PeerConnection? connection;
        lock (_lock)
        {
            connection = _connection;
            _connection = null;
            _queue.Clear();
        }

        connection?.Dispose();
        _closed.Cancel();
    }
}
