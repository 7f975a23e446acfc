using System.Net;
using System.Threading.Channels;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;
using KvStore.Client.Routing;
using Microsoft.Extensions.Logging;

namespace KvStore.Client.Watch;

/// <summary>
/// One watch on one dedicated connection to one endpoint. A connection of its own keeps the
/// watch's push frames apart from every other stream (the connection has a single push queue)
/// and lets back-pressure work per watch: an unread watch fills only its own connection, and the
/// server then parks it on history instead of holding other clients back.
/// </summary>
internal sealed class WatchSession : IAsyncDisposable
{
    /// <summary>The watch's id on its connection: the client picks it, so frames can be matched before the create answer.</summary>
    public const long WatchId = 1;

    private readonly ProtocolConnection _connection;
    private readonly Queue<WatchEvents> _early = new();

    private WatchSession(ProtocolConnection connection, WatchCreateResponse created)
    {
        _connection = connection;
        Created = created;
    }

    /// <summary>The server's answer: its header revision is the revision the watch started after (start 0).</summary>
    public WatchCreateResponse Created { get; }

    /// <summary>Connects to <paramref name="endpoint"/> and creates the watch.</summary>
    /// <exception cref="KvStoreConnectionException">The endpoint cannot be reached or the connection failed.</exception>
    /// <exception cref="KvStoreProtocolException">The server refused the watch.</exception>
    public static async Task<WatchSession> OpenAsync(
        EndpointAddress endpoint, WatchCreateRequest request, KvStoreClientOptions options, ulong clientId, ILogger logger, CancellationToken cancellationToken)
    {
        EndPoint target = IPAddress.TryParse(endpoint.Host, out IPAddress? address)
            ? new IPEndPoint(address, endpoint.Port)
            : new DnsEndPoint(endpoint.Host, endpoint.Port);
        using var dialTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        dialTimeout.CancelAfter(options.DialTimeout);
        ProtocolConnection connection;
        try
        {
            connection = await ProtocolConnection.ConnectAsync(
                target,
                new ProtocolConnectionOptions { ClientId = clientId, ClientName = options.ClientName + "/watch", Limits = options.Limits },
                logger,
                dialTimeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new KvStoreConnectionException($"cannot connect to {endpoint}: no handshake within the dial timeout of {options.DialTimeout.TotalMilliseconds:0} ms");
        }

        try
        {
            request.WatchId = WatchId;
            Task<WatchCreateResponse> create = connection.SendAsync<WatchCreateResponse>(request, cancellationToken);
            var early = new Queue<WatchEvents>();

            // Events may overtake the answer (the server pushes history on its own task); read them
            // meanwhile, or a full push queue would stop the connection before the answer arrives.
            while (!create.IsCompleted)
            {
                Task<bool> readable = connection.PushFrames.WaitToReadAsync(cancellationToken).AsTask();
                await Task.WhenAny(create, readable).ConfigureAwait(false);
                while (connection.PushFrames.TryRead(out PushFrame? frame))
                {
                    if (Parse(frame) is { } events)
                    {
                        early.Enqueue(events);
                    }
                }

                if (readable.IsCompleted && !create.IsCompleted && !await readable.ConfigureAwait(false))
                {
                    break;
                }
            }

            WatchCreateResponse created = await create.ConfigureAwait(false);
            var session = new WatchSession(connection, created);
            foreach (WatchEvents events in early)
            {
                session._early.Enqueue(events);
            }

            return session;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The next frame of the watch.</summary>
    /// <exception cref="KvStoreConnectionException">The connection is gone.</exception>
    public async ValueTask<WatchEvents> ReadAsync(CancellationToken cancellationToken)
    {
        if (_early.TryDequeue(out WatchEvents? early))
        {
            return early;
        }

        while (true)
        {
            PushFrame frame;
            try
            {
                frame = await _connection.PushFrames.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException ex)
            {
                throw new KvStoreConnectionException($"the watch connection to {_connection.RemoteEndPoint} closed", ex);
            }

            if (Parse(frame) is { } events)
            {
                return events;
            }
        }
    }

    /// <summary>Cancels the watch on the server (best effort, briefly) and closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_connection.IsConnected)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await _connection.SendAsync<WatchCancelResponse>(new WatchCancelRequest { WatchId = WatchId }, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is KvStoreException or OperationCanceledException)
            {
                // Closing the connection below removes the watch on the server anyway.
            }
        }

        await _connection.DisposeAsync().ConfigureAwait(false);
    }

    private static WatchEvents? Parse(PushFrame frame) =>
        frame.Type == FrameType.WatchEvents && frame.ParseMessage() is WatchEvents { WatchId: WatchId } events ? events : null;
}
