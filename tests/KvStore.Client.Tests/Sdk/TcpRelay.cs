using System.Net;
using System.Net.Sockets;

namespace KvStore.Client.Tests.Sdk;

/// <summary>
/// A TCP relay in front of a member that the test can cut: <see cref="CutAll"/> resets every
/// relayed connection, which is what a client sees when a network link or a server process dies.
/// </summary>
internal sealed class TcpRelay : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly IPEndPoint _target;
    private readonly List<Socket> _sockets = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _acceptLoop;

    public TcpRelay(string target)
    {
        var parts = target.Split(':');
        _target = new IPEndPoint(IPAddress.Parse(parts[0]), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(16);
        _acceptLoop = AcceptLoopAsync();
    }

    public string Endpoint => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndPoint!).Port}";

    /// <summary>Connections accepted so far.</summary>
    public int Accepted { get; private set; }

    public void CutAll()
    {
        lock (_sockets)
        {
            foreach (var socket in _sockets)
            {
                try
                {
                    // Reset rather than close, so the client sees the connection die at once.
                    socket.LingerState = new LingerOption(true, 0);
                }
                catch (ObjectDisposedException)
                {
                    // The pump already closed it when the other side went away.
                }

                socket.Dispose();
            }

            _sockets.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Dispose();
        CutAll();
        try
        {
            await _acceptLoop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopping ends the accept loop with one of these.
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            var inbound = await _listener.AcceptAsync(_stopping.Token);
            var outbound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await outbound.ConnectAsync(_target, _stopping.Token);
            lock (_sockets)
            {
                Accepted++;
                _sockets.Add(inbound);
                _sockets.Add(outbound);
            }

            _ = PumpAsync(inbound, outbound);
            _ = PumpAsync(outbound, inbound);
        }
    }

    private static async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                int read = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // One side was cut: cut the other too, as a dead link would.
            from.Dispose();
            to.Dispose();
        }
    }
}
