using System.Net;
using Google.Protobuf;
using KvStore.Client;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;
using KvStore.Client.Routing;

namespace KvStore.Server.Cli.Bench;

/// <summary>
/// KvStore under the watch benchmark: watches multiplexed on native-protocol connections spread
/// round-robin over every member (followers serve watches too), puts through the SDK (to the leader).
/// </summary>
internal sealed class KvStoreWatchTarget(IReadOnlyList<string> endpoints) : IWatchBenchTarget
{
    private readonly KvStoreClient _writer = new(new KvStoreClientOptions
    {
        Endpoints = endpoints.ToList(),
        ClientName = "kvstore-bench-writer",
        RequestTimeout = TimeSpan.FromSeconds(30),
    });

    private readonly List<ProtocolConnection> _connections = [];
    private readonly List<Task> _readers = [];

    public async Task StartWatchersAsync(IReadOnlyList<byte[]> watchedKeys, int streams, Action<int, ReadOnlyMemory<byte>> onEvent, CancellationToken cancellationToken)
    {
        for (int s = 0; s < streams; s++)
        {
            EndpointAddress endpoint = EndpointAddress.Parse(endpoints[s % endpoints.Count]);
            EndPoint target = IPAddress.TryParse(endpoint.Host, out IPAddress? ip) ? new IPEndPoint(ip, endpoint.Port) : new DnsEndPoint(endpoint.Host, endpoint.Port);
            ProtocolConnection connection = await ProtocolConnection.ConnectAsync(
                target, new ProtocolConnectionOptions { ClientName = "kvstore-bench-watch", PushQueueCapacity = 8192 }, null, cancellationToken).ConfigureAwait(false);
            _connections.Add(connection);
            int stream = s;
            _readers.Add(Task.Run(() => ReadAsync(connection, stream, onEvent)));
        }

        var creates = new List<Task<WatchCreateResponse>>();
        for (int j = 0; j < watchedKeys.Count; j++)
        {
            creates.Add(_connections[j % streams].SendAsync<WatchCreateResponse>(
                new WatchCreateRequest { Key = UnsafeByteOperations.UnsafeWrap(watchedKeys[j]) }, cancellationToken));
        }

        foreach (WatchCreateResponse created in await Task.WhenAll(creates).ConfigureAwait(false))
        {
            if (created.Canceled)
            {
                throw new InvalidOperationException($"a watch was refused: {created.CancelReason}");
            }
        }
    }

    public Task PutAsync(byte[] key, byte[] value, CancellationToken cancellationToken) => _writer.PutAsync(key, value, null, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        foreach (ProtocolConnection connection in _connections)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(_readers).ConfigureAwait(false);
        await _writer.DisposeAsync().ConfigureAwait(false);
    }

    private static async Task ReadAsync(ProtocolConnection connection, int stream, Action<int, ReadOnlyMemory<byte>> onEvent)
    {
        try
        {
            await foreach (PushFrame frame in connection.PushFrames.ReadAllAsync().ConfigureAwait(false))
            {
                if (frame.Type == FrameType.WatchEvents && frame.ParseMessage() is WatchEvents events)
                {
                    foreach (Event e in events.Events)
                    {
                        onEvent(stream, e.Kv.Value.Memory);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is KvStoreException or OperationCanceledException or System.Threading.Channels.ChannelClosedException)
        {
            // The connection closed: the run is over (or the report shows the missing deliveries).
        }
    }
}
