using KvStore.Client.Protocol;
using KvStore.Server.Net;

namespace KvStore.Server.Tests.Net;

/// <summary>A started <see cref="ClientListener"/> on a free loopback port, and connections to it.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    /// <summary>Guards every wait in these tests against a hang; never a timing assertion.</summary>
    public static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(15);

    private readonly List<ProtocolConnection> _clients = [];

    public TestServer(IRequestHandler handler, ProtocolLimits? limits = null)
    {
        Handler = handler;
        Listener = new ClientListener(new ClientListenerOptions { Limits = limits ?? ProtocolLimits.Default, ClusterId = 42, MemberId = 1 }, handler);
        Listener.Start();
    }

    public IRequestHandler Handler { get; }

    public ClientListener Listener { get; }

    public async Task<ProtocolConnection> ConnectAsync(ProtocolConnectionOptions? options = null)
    {
        var client = await ProtocolConnection.ConnectAsync(Listener.LocalEndPoint, options).WaitAsync(HangGuard);
        lock (_clients)
        {
            _clients.Add(client);
        }

        return client;
    }

    public Task<RawClient> ConnectRawAsync() => RawClient.ConnectAsync(Listener.LocalEndPoint);

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }

        using var cut = new CancellationTokenSource(HangGuard);
        await Listener.StopAsync(cut.Token);
        await Listener.DisposeAsync();
    }
}
