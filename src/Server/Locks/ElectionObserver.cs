using KvStore.Client;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;
using KvStore.Server.Net;

namespace KvStore.Server.Locks;

/// <summary>
/// One Observe stream: pushes an <see cref="ElectionObservation"/> for the election's current
/// leader and for every change of leader or leader value, in order, on the client's connection.
/// </summary>
/// <remarks>
/// <see cref="Publish"/> runs on the lock service's thread and never waits for the client: it
/// only replaces the one pending observation ("latest state" coalescing) and, if no send is in
/// progress, starts one. A slow client therefore skips intermediate states it could not take in
/// time, but never sees them out of order and never holds up the service, the apply thread or
/// other observers; a fast client sees every change.
/// </remarks>
public sealed class ElectionObserver
{
    private readonly object _gate = new();
    private ElectionObservation? _pending;
    private (string Key, long ModRevision)? _lastQueued;
    private bool _sending;
    private bool _closed;

    // False until the first observation: the current state is always sent, even "no leader".
    private bool _started;

    private readonly Func<ElectionObservation, CancellationToken, ValueTask> _send;
    private readonly CancellationToken _connectionClosed;

    /// <summary>An observe stream pushing on <paramref name="connection"/>.</summary>
    public ElectionObserver(long id, byte[] name, ClientConnection connection)
        : this(id, name, connection, (o, ct) => connection.SendPushAsync(FrameType.ElectionObservation, o, ct), connection.Closed)
    {
    }

    /// <summary>An observe stream that sends with <paramref name="send"/> (which may wait while the client is slow).</summary>
    internal ElectionObserver(long id, byte[] name, object owner, Func<ElectionObservation, CancellationToken, ValueTask> send, CancellationToken closed)
    {
        Id = id;
        Name = name;
        Owner = owner;
        _send = send;
        _connectionClosed = closed;
    }

    public long Id { get; }

    public byte[] Name { get; }

    /// <summary>Whose stream it is (the client connection); only its owner may cancel it.</summary>
    public object Owner { get; }

    /// <summary>Whether the stream ended (cancelled, or the connection closed).</summary>
    public bool IsClosed
    {
        get
        {
            lock (_gate)
            {
                return _closed || _connectionClosed.IsCancellationRequested;
            }
        }
    }

    /// <summary>Queues the election's state if it differs from the last one queued; null leader = no leader.</summary>
    internal void Publish(KeyValue? leader, long revision)
    {
        (string, long)? identity = leader is null ? null : (Convert.ToHexString(leader.Key.Span), leader.ModRevision);
        lock (_gate)
        {
            if (_closed || (_started && _lastQueued == identity))
            {
                return;
            }

            _started = true;
            _lastQueued = identity;
            _pending = new ElectionObservation { Header = new ResponseHeader { Revision = revision }, ObserveId = Id, Kv = leader };
            if (_sending)
            {
                return;
            }

            _sending = true;
        }

        _ = Task.Run(SendLoopAsync);
    }

    internal void Close()
    {
        lock (_gate)
        {
            _closed = true;
            _pending = null;
        }
    }

    private async Task SendLoopAsync()
    {
        while (true)
        {
            ElectionObservation next;
            lock (_gate)
            {
                if (_pending is null || _closed)
                {
                    _sending = false;
                    return;
                }

                next = _pending;
                _pending = null;
            }

            try
            {
                await _send(next, _connectionClosed).ConfigureAwait(false);
            }
            catch (Exception e) when (e is KvStoreConnectionException or OperationCanceledException or ObjectDisposedException)
            {
                lock (_gate)
                {
                    _closed = true;
                    _sending = false;
                }

                return;
            }
        }
    }
}
