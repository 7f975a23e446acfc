using System.Net;
using KvStore.Client.Protocol;
using Microsoft.Extensions.Logging;

namespace KvStore.Client.Routing;

/// <summary>
/// At most one live <see cref="ProtocolConnection"/> per endpoint, dialled on first use and
/// redialled after it fails. Every connection presents the same session client id in its Hello:
/// the one the first handshake got from the server (or the configured one).
/// </summary>
internal sealed class EndpointConnections : IAsyncDisposable
{
    private readonly Dictionary<EndpointAddress, Task<ProtocolConnection>> _connections = [];
    private readonly object _gate = new();
    private readonly KvStoreClientOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _disposing = new();

    // Until the first handshake has assigned the client id, dials run one at a time so that
    // every connection of this client presents the same id.
    private readonly SemaphoreSlim _firstDial = new(1, 1);
    private ulong _clientId;
    private bool _disposed;

    public EndpointConnections(KvStoreClientOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        _clientId = options.ClientId;
    }

    /// <summary>The session client id the servers know this client by; 0 before the first handshake.</summary>
    public ulong ClientId => Volatile.Read(ref _clientId);

    /// <summary>The live connection to <paramref name="endpoint"/>, dialling one if needed.</summary>
    /// <exception cref="KvStoreConnectionException">The endpoint cannot be reached within the dial timeout.</exception>
    public async Task<ProtocolConnection> GetAsync(EndpointAddress endpoint, CancellationToken cancellationToken)
    {
        Task<ProtocolConnection> dial;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_connections.TryGetValue(endpoint, out dial!) || IsDead(dial))
            {
                if (dial is { IsCompletedSuccessfully: true })
                {
                    _ = DisposeQuietlyAsync(dial.Result);
                }

                dial = DialAsync(endpoint);
                _connections[endpoint] = dial;
            }
        }

        try
        {
            return await dial.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (dial.IsFaulted || dial.IsCanceled)
        {
            lock (_gate)
            {
                if (_connections.TryGetValue(endpoint, out var current) && current == dial)
                {
                    _connections.Remove(endpoint);
                }
            }

            throw;
        }
    }

    /// <summary>Drops <paramref name="connection"/> (it failed); the next call to <paramref name="endpoint"/> dials anew.</summary>
    public void Invalidate(EndpointAddress endpoint, ProtocolConnection? connection)
    {
        lock (_gate)
        {
            if (connection is not null
                && _connections.TryGetValue(endpoint, out var current)
                && current.IsCompletedSuccessfully
                && current.Result == connection)
            {
                _connections.Remove(endpoint);
            }
        }

        if (connection is not null)
        {
            _ = DisposeQuietlyAsync(connection);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task<ProtocolConnection>[] dials;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            dials = _connections.Values.ToArray();
            _connections.Clear();
        }

        await _disposing.CancelAsync().ConfigureAwait(false);
        foreach (var dial in dials)
        {
            try
            {
                var connection = await dial.ConfigureAwait(false);
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is KvStoreException or OperationCanceledException)
            {
                // A dial that failed or was cut short has nothing to close.
            }
        }
    }

    private static bool IsDead(Task<ProtocolConnection> dial) =>
        dial.IsFaulted || dial.IsCanceled || (dial.IsCompletedSuccessfully && !dial.Result.IsConnected);

    private async Task<ProtocolConnection> DialAsync(EndpointAddress endpoint)
    {
        // A dial is shared by every call waiting for this endpoint, so it runs under the client's
        // own dial timeout, not under any one caller's token.
        using var dialTimeout = CancellationTokenSource.CreateLinkedTokenSource(_disposing.Token);
        dialTimeout.CancelAfter(_options.DialTimeout);
        bool serialized = ClientId == 0;
        if (serialized)
        {
            await _firstDial.WaitAsync(dialTimeout.Token).ConfigureAwait(false);
        }

        try
        {
            var connectionOptions = new ProtocolConnectionOptions
            {
                ClientId = ClientId,
                ClientName = _options.ClientName,
                Limits = _options.Limits,
            };
            EndPoint target = IPAddress.TryParse(endpoint.Host, out var address)
                ? new IPEndPoint(address, endpoint.Port)
                : new DnsEndPoint(endpoint.Host, endpoint.Port);
            var connection = await ProtocolConnection.ConnectAsync(target, connectionOptions, _logger, dialTimeout.Token).ConfigureAwait(false);
            Interlocked.CompareExchange(ref _clientId, connection.ClientId, 0);
            _logger.LogDebug("connected to {Endpoint} as client {ClientId}", endpoint, connection.ClientId);
            return connection;
        }
        catch (OperationCanceledException) when (dialTimeout.IsCancellationRequested && !_disposing.IsCancellationRequested)
        {
            throw new KvStoreConnectionException($"cannot connect to {endpoint}: no handshake within the dial timeout of {_options.DialTimeout.TotalMilliseconds:0} ms");
        }
        finally
        {
            if (serialized)
            {
                _firstDial.Release();
            }
        }
    }

    private async Task DisposeQuietlyAsync(ProtocolConnection connection)
    {
        try
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is KvStoreException or IOException or ObjectDisposedException)
        {
            _logger.LogDebug(ex, "closing a failed connection to {Endpoint}", connection.RemoteEndPoint);
        }
    }
}
