using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvStore.Server.Net;

/// <summary>
/// The native protocol's TCP endpoint (docs/protocol.md): accepts client connections and runs
/// each as a <see cref="ClientConnection"/> that hands requests to one <see cref="IRequestHandler"/>.
/// A connection that misbehaves is closed on its own; the listener and every other connection
/// carry on.
/// </summary>
/// <remarks>
/// Lifecycle: construct, <see cref="Start"/> (binds; <see cref="LocalEndPoint"/> is then known),
/// <see cref="StopAsync"/> (stops accepting, lets each connection answer its in-flight requests,
/// closes them; the token cuts the wait short), <see cref="DisposeAsync"/> (stops if needed).
/// </remarks>
public sealed class ClientListener : IAsyncDisposable
{
    private readonly ClientListenerOptions _options;
    private readonly IRequestHandler _handler;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<long, (ClientConnection Connection, Task Run)> _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _socket;
    private IPEndPoint? _localEndPoint;
    private Task _acceptLoop = Task.CompletedTask;
    private long _lastConnectionId;
    private int _stopped;

    public ClientListener(ClientListenerOptions options, IRequestHandler handler, ILogger<ClientListener>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(handler);
        options.Limits.Validated();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxQueuedPushFramesPerConnection);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.DrainTimeout, TimeSpan.Zero);
        _options = options;
        _handler = handler;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>The bound address (with the actual port when the options asked for port 0).</summary>
    /// <exception cref="InvalidOperationException">Before <see cref="Start"/>.</exception>
    public IPEndPoint LocalEndPoint => _localEndPoint ?? throw new InvalidOperationException("the listener has not been started");

    /// <summary>The connections open right now.</summary>
    public IReadOnlyCollection<ClientConnection> Connections => _connections.Values.Select(entry => entry.Connection).ToArray();

    /// <summary>Binds the socket and starts accepting connections in the background.</summary>
    /// <exception cref="SocketException">The address cannot be bound (e.g. in use).</exception>
    public void Start()
    {
        if (_socket is not null)
        {
            throw new InvalidOperationException("the listener has already been started");
        }

        var socket = new Socket(_options.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(_options.EndPoint);
            socket.Listen(_options.Backlog);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _socket = socket;
        _localEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        _logger.LogInformation("Client listener on {Endpoint}", LocalEndPoint);
        _acceptLoop = AcceptLoopAsync(socket);
    }

    /// <summary>
    /// Stops accepting, lets open connections answer their in-flight requests (each at most
    /// <see cref="ClientListenerOptions.DrainTimeout"/>) and closes them. When
    /// <paramref name="cancellationToken"/> fires, remaining connections are cut at once.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            await WaitForConnectionsAsync().ConfigureAwait(false);
            return;
        }

        _stopping.Cancel();
        _socket?.Dispose();
        await _acceptLoop.ConfigureAwait(false);

        using var cut = cancellationToken.Register(() =>
        {
            foreach (var entry in _connections.Values)
            {
                entry.Connection.Abort();
            }
        });
        await WaitForConnectionsAsync().ConfigureAwait(false);
        _logger.LogInformation("Client listener stopped");
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task WaitForConnectionsAsync()
    {
        while (!_connections.IsEmpty)
        {
            await Task.WhenAll(_connections.Values.Select(entry => entry.Run)).ConfigureAwait(false);
        }
    }

    private async Task AcceptLoopAsync(Socket listenSocket)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await listenSocket.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                // Cancelled, or the socket was disposed under the pending accept: we are stopping.
                return;
            }
            catch (SocketException ex)
            {
                // E.g. out of file descriptors, or a client that reset before accept: the
                // listener must outlive it. Back off briefly so a persistent error cannot spin.
                _logger.LogWarning("Accept on {Endpoint} failed: {Message}", _options.EndPoint, ex.Message);
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(50), _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            accepted.NoDelay = true;
            long id = Interlocked.Increment(ref _lastConnectionId);
            var connection = new ClientConnection(id, accepted, _handler, _options, _logger);
            _logger.LogDebug("Client connection {ConnectionId} from {Remote}", id, accepted.RemoteEndPoint);

            // Register before running so StopAsync cannot miss it; the run removes itself when done.
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var run = RunConnectionAsync(connection, start.Task);
            _connections[id] = (connection, run);
            start.SetResult();
        }
    }

    private async Task RunConnectionAsync(ClientConnection connection, Task registered)
    {
        await registered.ConfigureAwait(false);
        try
        {
            await connection.RunAsync(_stopping.Token).ConfigureAwait(false);
        }
        finally
        {
            _connections.TryRemove(connection.Id, out _);
        }
    }
}
