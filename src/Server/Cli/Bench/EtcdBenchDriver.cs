using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using KvStore.Server.Cli.Bench.Etcd;

namespace KvStore.Server.Cli.Bench;

/// <summary>
/// The benchmark against etcd through its v3 gRPC API (HTTP/2 without TLS), one channel per
/// connection, connections spread over the endpoints round-robin as etcd's own benchmark tool
/// does. A write reaching a follower is forwarded to the leader by etcd itself.
/// </summary>
internal sealed class EtcdBenchDriver : IBenchDriver
{
    private readonly GrpcChannel[] _channels;
    private readonly KV.KVClient[] _kv;

    public EtcdBenchDriver(BenchSettings settings)
    {
        _channels = Enumerable.Range(0, settings.Connections)
            .Select(i => GrpcChannel.ForAddress("http://" + settings.Endpoints[i % settings.Endpoints.Count], new GrpcChannelOptions
            {
                HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false },
            }))
            .ToArray();
        _kv = _channels.Select(c => new KV.KVClient(c)).ToArray();
    }

    public async Task PutAsync(int connection, byte[] key, byte[] value, CancellationToken cancellationToken) =>
        await CallAsync(_kv[connection].PutAsync(new PutRequest { Key = UnsafeByteOperations.UnsafeWrap(key), Value = UnsafeByteOperations.UnsafeWrap(value) }, cancellationToken: cancellationToken), cancellationToken);

    public async Task<long> GetAsync(int connection, byte[] key, bool serializable, CancellationToken cancellationToken)
    {
        var response = await CallAsync(_kv[connection].RangeAsync(new RangeRequest { Key = UnsafeByteOperations.UnsafeWrap(key), Serializable = serializable }, cancellationToken: cancellationToken), cancellationToken);
        return response.Kvs.Count > 0 ? response.Kvs[0].ModRevision : 0;
    }

    public async Task<(bool Swapped, long ModRevision)> CompareAndSwapAsync(int connection, byte[] key, long expectedModRevision, byte[] value, CancellationToken cancellationToken)
    {
        var k = UnsafeByteOperations.UnsafeWrap(key);
        var response = await CallAsync(_kv[connection].TxnAsync(
            new TxnRequest
            {
                Compare = { new Etcd.Compare { Key = k, Target = Etcd.Compare.Types.CompareTarget.Mod, Result = Etcd.Compare.Types.CompareResult.Equal, ModRevision = expectedModRevision } },
                Success = { new RequestOp { RequestPut = new PutRequest { Key = k, Value = UnsafeByteOperations.UnsafeWrap(value) } } },
                Failure = { new RequestOp { RequestRange = new RangeRequest { Key = k } } },
            },
            cancellationToken: cancellationToken), cancellationToken);
        if (response.Succeeded)
        {
            return (true, response.Header.Revision);
        }

        var seen = response.Responses.Count > 0 ? response.Responses[0].ResponseRange?.Kvs : null;
        return (false, seen is { Count: > 0 } ? seen[0].ModRevision : 0);
    }

    public ValueTask DisposeAsync()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Awaits a call; a call cut short by <paramref name="cancellationToken"/> ends as <see cref="OperationCanceledException"/>, as in the SDK.</summary>
    private static async Task<T> CallAsync<T>(AsyncUnaryCall<T> call, CancellationToken cancellationToken)
    {
        using (call)
        {
            try
            {
                return await call.ResponseAsync.ConfigureAwait(false);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("the benchmark stopped", ex, cancellationToken);
            }
        }
    }

    /// <summary>Whether a gRPC failure is etcd's answer (counted as an error) rather than our cancellation.</summary>
    public static bool IsServiceError(Exception ex) => ex is RpcException { StatusCode: not StatusCode.Cancelled };
}
