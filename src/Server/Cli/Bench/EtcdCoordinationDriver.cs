using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using KvStore.Server.Cli.Bench.Etcd;
using V3Lock = KvStore.Server.Cli.Bench.EtcdLock;

namespace KvStore.Server.Cli.Bench;

/// <summary>
/// The coordination benchmarks against etcd's gRPC API: v3lockpb.Lock for locks and
/// etcdserverpb.Lease for leases, one channel per connection spread over the endpoints. Kept-alive
/// leases are renewed the way etcd's clientv3 does it: one LeaseKeepAlive stream per connection,
/// every lease's id sent once per third of its TTL, an answer with TTL 0 meaning the lease is gone.
/// </summary>
internal sealed class EtcdCoordinationDriver : ICoordinationBenchDriver
{
    private readonly GrpcChannel[] _channels;
    private readonly Lease.LeaseClient[] _leases;
    private readonly V3Lock.Lock.LockClient[] _locks;
    private readonly KeepAliveStream?[] _keepAlives;
    private readonly CancellationTokenSource _stopping = new();
    private long _lost;

    public EtcdCoordinationDriver(IReadOnlyList<string> endpoints, int connections)
    {
        _channels = Enumerable.Range(0, connections)
            .Select(i => GrpcChannel.ForAddress("http://" + endpoints[i % endpoints.Count], new GrpcChannelOptions
            {
                HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false },
                MaxReceiveMessageSize = 64 * 1024 * 1024,
            }))
            .ToArray();
        _leases = _channels.Select(c => new Lease.LeaseClient(c)).ToArray();
        _locks = _channels.Select(c => new V3Lock.Lock.LockClient(c)).ToArray();
        _keepAlives = new KeepAliveStream?[connections];
    }

    public long LostLeases => Interlocked.Read(ref _lost);

    public TimeSpan? SlowestRenewalRound => _keepAlives.Where(s => s is not null).Select(s => s!.SlowestRound).DefaultIfEmpty(TimeSpan.Zero).Max();

    public async Task<long> GrantLeaseAsync(int connection, int ttlSeconds, bool keepAlive, CancellationToken cancellationToken)
    {
        LeaseGrantResponse granted = await _leases[connection].LeaseGrantAsync(new LeaseGrantRequest { TTL = ttlSeconds }, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!string.IsNullOrEmpty(granted.Error))
        {
            throw new InvalidOperationException($"etcd refused the lease: {granted.Error}");
        }

        if (keepAlive)
        {
            KeepAliveStream stream;
            lock (_keepAlives)
            {
                stream = _keepAlives[connection] ??= new KeepAliveStream(_leases[connection], () => Interlocked.Increment(ref _lost), _stopping.Token);
            }

            stream.Add(granted.ID, TimeSpan.FromSeconds(granted.TTL));
        }

        return granted.ID;
    }

    public async Task<byte[]> LockAsync(int connection, byte[] name, long lease, CancellationToken cancellationToken)
    {
        V3Lock.LockResponse held = await _locks[connection].LockAsync(new V3Lock.LockRequest { Name = UnsafeByteOperations.UnsafeWrap(name), Lease = lease }, cancellationToken: cancellationToken).ConfigureAwait(false);
        return held.Key.ToByteArray();
    }

    public async Task UnlockAsync(int connection, byte[] key, CancellationToken cancellationToken) =>
        await _locks[connection].UnlockAsync(new V3Lock.UnlockRequest { Key = UnsafeByteOperations.UnsafeWrap(key) }, cancellationToken: cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlySet<long>> ListLeasesAsync(CancellationToken cancellationToken)
    {
        LeaseLeasesResponse all = await _leases[0].LeaseLeasesAsync(new LeaseLeasesRequest(), cancellationToken: cancellationToken).ConfigureAwait(false);
        return all.Leases.Select(l => l.ID).ToHashSet();
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (KeepAliveStream? stream in _keepAlives)
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }

        foreach (GrpcChannel channel in _channels)
        {
            channel.Dispose();
        }

        _stopping.Dispose();
    }

    /// <summary>One LeaseKeepAlive stream: a sender renewing every lease each third of its TTL, a reader counting the ones etcd says are gone.</summary>
    private sealed class KeepAliveStream : IAsyncDisposable
    {
        private readonly Dictionary<long, TimeSpan> _ttls = [];
        private readonly Action _lost;
        private readonly Task _loop;
        private long _slowestRoundTicks;

        public KeepAliveStream(Lease.LeaseClient client, Action lost, CancellationToken stopping)
        {
            _lost = lost;
            _loop = Task.Run(() => RunAsync(client, stopping), CancellationToken.None);
        }

        public TimeSpan SlowestRound => TimeSpan.FromTicks(Interlocked.Read(ref _slowestRoundTicks));

        public void Add(long id, TimeSpan ttl)
        {
            lock (_ttls)
            {
                _ttls[id] = ttl;
            }
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or RpcException)
            {
                // Stopping: the stream ends with the channel.
            }
        }

        private async Task RunAsync(Lease.LeaseClient client, CancellationToken stopping)
        {
            while (!stopping.IsCancellationRequested)
            {
                try
                {
                    using AsyncDuplexStreamingCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse> call = client.LeaseKeepAlive(cancellationToken: stopping);
                    Task reader = ReadAsync(call.ResponseStream, stopping);
                    while (!stopping.IsCancellationRequested && !reader.IsCompleted)
                    {
                        long[] due;
                        TimeSpan period;
                        lock (_ttls)
                        {
                            due = _ttls.Keys.ToArray();
                            period = _ttls.Count == 0 ? TimeSpan.FromMilliseconds(100) : _ttls.Values.Min() / 3;
                        }

                        var round = System.Diagnostics.Stopwatch.StartNew();
                        foreach (long id in due)
                        {
                            await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = id }, stopping).ConfigureAwait(false);
                        }

                        TimeSpan took = round.Elapsed;
                        if (took.Ticks > Interlocked.Read(ref _slowestRoundTicks))
                        {
                            Interlocked.Exchange(ref _slowestRoundTicks, took.Ticks);
                        }

                        TimeSpan rest = period - took;
                        if (rest > TimeSpan.Zero)
                        {
                            await Task.Delay(rest, stopping).ConfigureAwait(false);
                        }
                    }

                    await reader.ConfigureAwait(false);
                }
                catch (RpcException) when (!stopping.IsCancellationRequested)
                {
                    // The stream broke (a member restarted): open a new one, as clientv3 does.
                    await Task.Delay(TimeSpan.FromMilliseconds(200), stopping).ConfigureAwait(false);
                }
            }
        }

        private async Task ReadAsync(IAsyncStreamReader<LeaseKeepAliveResponse> responses, CancellationToken stopping)
        {
            while (await responses.MoveNext(stopping).ConfigureAwait(false))
            {
                if (responses.Current.TTL <= 0)
                {
                    bool known;
                    lock (_ttls)
                    {
                        known = _ttls.Remove(responses.Current.ID);
                    }

                    if (known)
                    {
                        _lost();
                    }
                }
            }
        }
    }
}
