using System.Text;
using Google.Protobuf;
using KvStore.Client.Routing;
using KvStore.Client.Watch;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Wire = KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>
/// The KvStore client: key-value operations, transactions, compaction, status and membership
/// against a cluster. Thread-safe; create one per application and share it.
/// </summary>
/// <remarks>
/// <para>
/// Every call finds the leader (trying the endpoints in turn and following not-leader hints),
/// reconnects after connection failures and retries with exponential backoff and jitter until
/// its deadline (<see cref="KvStoreClientOptions.RequestTimeout"/>), then raises
/// <see cref="KvStoreTimeoutException"/>. The caller's token cancels a call at any point with
/// <see cref="OperationCanceledException"/>; a write cancelled in flight may still be applied.
/// </para>
/// <para>
/// Writes run in exactly-once sessions: a write is given (client id, sequence) once and every
/// retry sends the same pair, so the state machine applies it once. A session carries one
/// write at a time, so concurrent writes use several sessions ("lanes", up to
/// <see cref="KvStoreClientOptions.MaxConcurrentWrites"/>).
/// </para>
/// <para>Failures are typed: <see cref="KvStoreProtocolException"/> and its subtypes
/// (<see cref="KvStoreCompactedException"/>, <see cref="KvStoreLimitExceededException"/>),
/// <see cref="KvStoreTimeoutException"/>, <see cref="KvStoreConnectionException"/>.</para>
/// </remarks>
/// <example>
/// <code>
/// await using var client = new KvStoreClient(new KvStoreClientOptions { Endpoints = ["127.0.0.1:2379"] });
/// await client.PutAsync("greeting", "hello");
/// KvPair? kv = await client.GetAsync("greeting");
/// </code>
/// </example>
public sealed class KvStoreClient : IAsyncDisposable
{
    private readonly EndpointConnections _connections;
    private readonly LeaderTracker _leaders;
    private readonly SessionLanePool _lanes;
    private readonly RequestInvoker _invoker;
    private readonly ILogger _logger;
    private int _disposed;

    /// <summary>Creates a client for the cluster at <paramref name="endpoints"/> with default settings.</summary>
    public KvStoreClient(params string[] endpoints)
        : this(new KvStoreClientOptions { Endpoints = endpoints.Length == 0 ? [KvStoreClientOptions.DefaultEndpoint] : endpoints })
    {
    }

    /// <summary>Creates a client. No connection is made until the first call.</summary>
    /// <exception cref="ArgumentException">The options are unusable (no endpoint, a malformed endpoint, a non-positive timeout).</exception>
    public KvStoreClient(KvStoreClientOptions options, ILogger<KvStoreClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        ILogger log = logger ?? (ILogger)NullLogger.Instance;
        _logger = log;
        _leaders = new LeaderTracker(options.Endpoints.Select(EndpointAddress.Parse));
        _connections = new EndpointConnections(options, log);
        _lanes = new SessionLanePool(options.MaxConcurrentWrites, options.ClientId);
        _invoker = new RequestInvoker(options, _connections, _leaders, _lanes, log);
        Leases = new LeaseClient(this, log);
        Locks = new KvStoreLocks(_invoker, options, Leases);
        Elections = new KvStoreElections(_invoker, this, Locks);
    }

    /// <summary>Leases: grant, revoke, time-to-live, list, and automatic keep-alive (<see cref="LeaseClient"/>).</summary>
    public LeaseClient Leases { get; }

    /// <summary>Distributed locks with fencing tokens.</summary>
    public KvStoreLocks Locks { get; }

    /// <summary>Leader elections (campaign, proclaim, leader, resign, observe).</summary>
    public KvStoreElections Elections { get; }

    /// <summary>The settings this client was created with.</summary>
    public KvStoreClientOptions Options { get; }

    /// <summary>The client id the servers assigned in the first handshake (0 before the first call).</summary>
    public ulong ClientId => _connections.ClientId;

    /// <summary>The endpoint currently believed to be the leader, or null.</summary>
    public string? Leader => _leaders.Leader?.ToString();

    /// <summary>The configured endpoints, normalised to "host:port".</summary>
    public IReadOnlyList<string> Endpoints => _leaders.Endpoints.Select(e => e.ToString()).ToArray();

    /// <summary>Puts a UTF-8 <paramref name="value"/> at a UTF-8 <paramref name="key"/>.</summary>
    /// <returns>The revision of the put and, if asked for, the previous pair.</returns>
    public Task<PutResult> PutAsync(string key, string value, PutOptions? options = null, CancellationToken cancellationToken = default) =>
        PutAsync(Utf8(key), Utf8(value), options, cancellationToken);

    /// <summary>Puts <paramref name="value"/> at <paramref name="key"/>.</summary>
    /// <returns>The revision of the put and, if asked for, the previous pair.</returns>
    public async Task<PutResult> PutAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, PutOptions? options = null, CancellationToken cancellationToken = default)
    {
        var request = KvRequests.Put(key, value, options);
        var response = await _invoker.InvokeAsync<Wire.PutResponse>(request, CallKind.Write, null, cancellationToken).ConfigureAwait(false);
        return KvRequests.ToResult(response);
    }

    /// <summary>Reads a UTF-8 <paramref name="key"/>; null if it does not exist.</summary>
    public Task<KvPair?> GetAsync(string key, GetOptions? options = null, CancellationToken cancellationToken = default) =>
        GetAsync(Utf8(key), options, cancellationToken);

    /// <summary>Reads <paramref name="key"/>; null if it does not exist (at the requested revision).</summary>
    /// <exception cref="KvStoreCompactedException">The requested revision is compacted.</exception>
    public async Task<KvPair?> GetAsync(ReadOnlyMemory<byte> key, GetOptions? options = null, CancellationToken cancellationToken = default)
    {
        var request = KvRequests.Get(key, options);
        var response = await _invoker.InvokeAsync<Wire.RangeResponse>(request, CallKind.Read, null, cancellationToken).ConfigureAwait(false);
        return response.Kvs.Count == 0 ? null : KvPair.FromMessage(response.Kvs[0]);
    }

    /// <summary>Reads a range of keys (a prefix, or [start, end)), with limits, past revisions and sorting.</summary>
    /// <exception cref="KvStoreCompactedException">The requested revision is compacted.</exception>
    public async Task<RangeResult> RangeAsync(RangeOptions options, CancellationToken cancellationToken = default)
    {
        var request = KvRequests.Range(options);
        var response = await _invoker.InvokeAsync<Wire.RangeResponse>(request, CallKind.Read, null, cancellationToken).ConfigureAwait(false);
        return KvRequests.ToResult(response);
    }

    /// <summary>Deletes a UTF-8 <paramref name="key"/> (or every key with that prefix, see <see cref="DeleteOptions.Prefix"/>).</summary>
    public Task<DeleteResult> DeleteAsync(string key, DeleteOptions? options = null, CancellationToken cancellationToken = default) =>
        DeleteAsync(Utf8(key), options, cancellationToken);

    /// <summary>Deletes <paramref name="key"/> (or the prefix or range <paramref name="options"/> describes).</summary>
    public async Task<DeleteResult> DeleteAsync(ReadOnlyMemory<byte> key, DeleteOptions? options = null, CancellationToken cancellationToken = default)
    {
        var request = KvRequests.Delete(key, options);
        var response = await _invoker.InvokeAsync<Wire.DeleteRangeResponse>(request, CallKind.Write, null, cancellationToken).ConfigureAwait(false);
        return KvRequests.ToResult(response);
    }

    /// <summary>Starts a transaction: <c>client.Txn().If(...).Then(...).Else(...).CommitAsync(ct)</c>.</summary>
    public TxnBuilder Txn() => new(CommitAsync);

    /// <summary>Sends a transaction written as a wire message (a session is added when it writes).</summary>
    public Task<TxnResult> TxnAsync(Wire.TxnRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return CommitAsync(request.Clone(), cancellationToken);
    }

    /// <summary>Drops the history below <paramref name="revision"/>; reads at older revisions then fail with <see cref="KvStoreCompactedException"/>.</summary>
    /// <param name="revision">The oldest revision to keep.</param>
    /// <param name="physical">Wait until the compaction has reached storage.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<KvResponseHeader> CompactAsync(long revision, bool physical = false, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(revision);
        var request = new Wire.CompactionRequest { Revision = revision, Physical = physical };
        var response = await _invoker.InvokeAsync<Wire.CompactionResponse>(request, CallKind.Write, null, cancellationToken).ConfigureAwait(false);
        return KvResponseHeader.FromMessage(response.Header);
    }

    /// <summary>
    /// The status of one member: <paramref name="endpoint"/> if given (asked directly, no
    /// redirect), otherwise whichever member the client reaches first.
    /// </summary>
    public async Task<MemberStatus> StatusAsync(string? endpoint = null, CancellationToken cancellationToken = default)
    {
        EndpointAddress? pinned = endpoint is null ? null : EndpointAddress.Parse(endpoint);
        var answeredBy = pinned ?? _leaders.Preferred;
        var response = await _invoker.InvokeAsync<Wire.StatusResponse>(
            new Wire.StatusRequest(), CallKind.Read, pinned, cancellationToken, e => answeredBy = e).ConfigureAwait(false);
        return MemberStatus.FromMessage(answeredBy.ToString(), response);
    }

    /// <summary>The cluster's members, read through the leader.</summary>
    public async Task<IReadOnlyList<ClusterMember>> MemberListAsync(CancellationToken cancellationToken = default)
    {
        var response = await _invoker.InvokeAsync<Wire.MemberListResponse>(
            new Wire.MemberListRequest { Linearizable = true }, CallKind.Read, null, cancellationToken).ConfigureAwait(false);
        return response.Members.Select(ClusterMember.FromMessage).ToArray();
    }

    /// <summary>Adds a member (as a learner if <paramref name="isLearner"/>, the safe way to join) and returns it.</summary>
    /// <param name="name">The new member's name.</param>
    /// <param name="peerUrls">Where peers will reach it.</param>
    /// <param name="clientUrls">Where clients will reach it.</param>
    /// <param name="isLearner">Join as a non-voting learner, to be promoted once caught up.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<ClusterMember> MemberAddAsync(
        string name, IEnumerable<string> peerUrls, IEnumerable<string> clientUrls, bool isLearner = true, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var request = new Wire.MemberAddRequest { Name = name, IsLearner = isLearner };
        request.PeerUrls.AddRange(peerUrls);
        request.ClientUrls.AddRange(clientUrls);
        if (request.PeerUrls.Count == 0)
        {
            throw new ArgumentException("a member needs at least one peer URL", nameof(peerUrls));
        }

        var response = await _invoker.InvokeAsync<Wire.MemberAddResponse>(request, CallKind.Membership, null, cancellationToken).ConfigureAwait(false);
        return response.Member is null
            ? throw new KvStoreProtocolException(Wire.ErrorCode.Internal, $"the server added member {name} but did not describe it")
            : ClusterMember.FromMessage(response.Member);
    }

    /// <summary>Removes member <paramref name="memberId"/>; returns the remaining members.</summary>
    public async Task<IReadOnlyList<ClusterMember>> MemberRemoveAsync(ulong memberId, CancellationToken cancellationToken = default)
    {
        var response = await _invoker.InvokeAsync<Wire.MemberRemoveResponse>(
            new Wire.MemberRemoveRequest { Id = memberId }, CallKind.Membership, null, cancellationToken).ConfigureAwait(false);
        return response.Members.Select(ClusterMember.FromMessage).ToArray();
    }

    /// <summary>Promotes learner <paramref name="memberId"/> to a voter; returns the members.</summary>
    public async Task<IReadOnlyList<ClusterMember>> MemberPromoteAsync(ulong memberId, CancellationToken cancellationToken = default)
    {
        var response = await _invoker.InvokeAsync<Wire.MemberPromoteResponse>(
            new Wire.MemberPromoteRequest { Id = memberId }, CallKind.Membership, null, cancellationToken).ConfigureAwait(false);
        return response.Members.Select(ClusterMember.FromMessage).ToArray();
    }

    /// <summary>
    /// Watches a key (or, with <see cref="WatchOptions.Prefix"/> / <see cref="WatchOptions.RangeEnd"/>,
    /// a prefix or range): every change from <see cref="WatchOptions.StartRevision"/> on, one
    /// <see cref="WatchBatch"/> per revision, in revision order, each event once and none missed —
    /// across disconnects and node failures too: the watch resumes on another endpoint from the
    /// revision after the last one delivered. Ends only by cancellation (or by disposing the
    /// enumerator), which also cancels the watch on the server. Each enumeration uses a connection of its own.
    /// </summary>
    /// <exception cref="WatchCompactedException">The watch starts, or would have to resume, below the compacted revision.</exception>
    /// <exception cref="WatchCanceledException">The server ended the watch (the message says why).</exception>
    /// <example>
    /// <code>
    /// await foreach (WatchBatch batch in client.Watch("config/", new WatchOptions { Prefix = true }, ct))
    /// {
    ///     foreach (WatchEvent e in batch.Events) Console.WriteLine(e);
    /// }
    /// </code>
    /// </example>
    public IAsyncEnumerable<WatchBatch> Watch(string key, WatchOptions? options = null, CancellationToken cancellationToken = default)
    {
        Wire.WatchCreateRequest request = WatchSubscription.Request(Utf8(key), options ?? new WatchOptions());
        return WatchSubscription.RunAsync(Options, () => _connections.ClientId, request, _logger, cancellationToken);
    }

    /// <summary>
    /// Sends any request message of the native protocol with the client's routing and retries and
    /// returns the raw response. A request that changes the store should be marked
    /// <paramref name="isWrite"/> so it gets a session.
    /// </summary>
    public Task<TResponse> SendRawAsync<TResponse>(IMessage request, bool isWrite, CancellationToken cancellationToken = default)
        where TResponse : IMessage
    {
        ArgumentNullException.ThrowIfNull(request);
        return _invoker.InvokeAsync<TResponse>(request, isWrite ? CallKind.Write : CallKind.Read, null, cancellationToken);
    }

    /// <summary>Closes every connection; calls still in flight fail.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await Leases.DisposeAsync().ConfigureAwait(false);
        await _connections.DisposeAsync().ConfigureAwait(false);
    }

    private async Task<TxnResult> CommitAsync(Wire.TxnRequest request, CancellationToken cancellationToken)
    {
        // A read-only transaction changes nothing, so it needs no session and may be retried freely.
        bool writes = request.Success.Concat(request.Failure).Any(IsWriteOp);
        var response = await _invoker.InvokeAsync<Wire.TxnResponse>(request, writes ? CallKind.Write : CallKind.Read, null, cancellationToken).ConfigureAwait(false);
        return TxnResult.FromMessage(response);
    }

    private static bool IsWriteOp(Wire.RequestOp op) => op.RequestCase switch
    {
        Wire.RequestOp.RequestOneofCase.RequestPut or Wire.RequestOp.RequestOneofCase.RequestDeleteRange => true,
        Wire.RequestOp.RequestOneofCase.RequestTxn => op.RequestTxn.Success.Concat(op.RequestTxn.Failure).Any(IsWriteOp),
        _ => false,
    };

    private static byte[] Utf8(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Encoding.UTF8.GetBytes(text);
    }
}
