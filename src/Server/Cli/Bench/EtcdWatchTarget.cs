using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using KvStore.Server.Cli.Bench.Etcd;

namespace KvStore.Server.Cli.Bench;

/// <summary>
/// etcd under the watch benchmark: watches multiplexed on gRPC Watch streams (one per channel, as
/// clientv3 shares one stream per context), channels round-robin over the members; puts through KV.
/// </summary>
internal sealed class EtcdWatchTarget(IReadOnlyList<string> endpoints) : IWatchBenchTarget
{
    private const int WriterChannels = 4;

    private readonly List<GrpcChannel> _channels = [];
    private readonly List<AsyncDuplexStreamingCall<WatchRequest, WatchResponse>> _calls = [];
    private readonly List<Task> _readers = [];
    private readonly CancellationTokenSource _closing = new();
    private KV.KVClient[] _writers = [];
    private int _nextWriter;

    public async Task StartWatchersAsync(IReadOnlyList<byte[]> watchedKeys, int streams, Action<int, ReadOnlyMemory<byte>> onEvent, CancellationToken cancellationToken)
    {
        _writers = Enumerable.Range(0, WriterChannels).Select(i => new KV.KVClient(Channel(endpoints[i % endpoints.Count]))).ToArray();
        var allCreated = new List<Task>();
        for (int s = 0; s < streams; s++)
        {
            var watch = new Etcd.Watch.WatchClient(Channel(endpoints[s % endpoints.Count]));
            AsyncDuplexStreamingCall<WatchRequest, WatchResponse> call = watch.Watch(cancellationToken: _closing.Token);
            _calls.Add(call);
            int expected = Enumerable.Range(0, watchedKeys.Count).Count(j => j % streams == s);
            var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            allCreated.Add(created.Task);
            int stream = s;
            _readers.Add(Task.Run(() => ReadAsync(call, stream, expected, created, onEvent)));
            for (int j = s; j < watchedKeys.Count; j += streams)
            {
                await call.RequestStream.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = UnsafeByteOperations.UnsafeWrap(watchedKeys[j]) } }, cancellationToken).ConfigureAwait(false);
            }
        }

        await Task.WhenAll(allCreated).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task PutAsync(byte[] key, byte[] value, CancellationToken cancellationToken)
    {
        KV.KVClient writer = _writers[(int)((uint)Interlocked.Increment(ref _nextWriter) % _writers.Length)];
        await writer.PutAsync(new PutRequest { Key = UnsafeByteOperations.UnsafeWrap(key), Value = UnsafeByteOperations.UnsafeWrap(value) }, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_readers).ConfigureAwait(false);
        foreach (var call in _calls)
        {
            call.Dispose();
        }

        foreach (GrpcChannel channel in _channels)
        {
            channel.Dispose();
        }
    }

    private GrpcChannel Channel(string endpoint)
    {
        var channel = GrpcChannel.ForAddress("http://" + endpoint, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false },
        });
        _channels.Add(channel);
        return channel;
    }

    private static async Task ReadAsync(
        AsyncDuplexStreamingCall<WatchRequest, WatchResponse> call, int stream, int expected, TaskCompletionSource created, Action<int, ReadOnlyMemory<byte>> onEvent)
    {
        int confirmed = 0;
        try
        {
            await foreach (WatchResponse response in call.ResponseStream.ReadAllAsync().ConfigureAwait(false))
            {
                if (response.Created && ++confirmed == expected)
                {
                    created.TrySetResult();
                }

                if (response.Canceled)
                {
                    created.TrySetException(new InvalidOperationException($"etcd refused a watch: {response.CancelReason}"));
                }

                foreach (WatchEvent e in response.Events)
                {
                    onEvent(stream, e.Kv.Value.Memory);
                }
            }
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled)
        {
            // The run is over.
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException)
        {
            created.TrySetException(ex);
        }
    }
}
