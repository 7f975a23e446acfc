using Google.Protobuf;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;
using Microsoft.Extensions.Logging;

namespace KvStore.Client.Routing;

/// <summary>
/// Sends one call to the cluster: finds the leader, follows not-leader redirects, reconnects,
/// and retries with backoff until the call's deadline. A write is stamped once with a session
/// (client id, sequence) before its first send and every retry sends that same stamp, so the
/// state machine applies it once however many times it arrives (Raft dissertation §6.3).
/// </summary>
internal sealed class RequestInvoker
{
    /// <summary>Field number of <c>Session session = 100</c>, present in every request message.</summary>
    private const int SessionFieldNumber = 100;

    private readonly KvStoreClientOptions _options;
    private readonly EndpointConnections _connections;
    private readonly LeaderTracker _leaders;
    private readonly SessionLanePool _lanes;
    private readonly RetryBackoff _backoff;
    private readonly ILogger _logger;

    public RequestInvoker(KvStoreClientOptions options, EndpointConnections connections, LeaderTracker leaders, SessionLanePool lanes, ILogger logger)
    {
        _options = options;
        _connections = connections;
        _leaders = leaders;
        _lanes = lanes;
        _backoff = new RetryBackoff(options.RetryBackoffMin, options.RetryBackoffMax);
        _logger = logger;
    }

    /// <summary>
    /// Sends <paramref name="request"/> and returns its answer. <paramref name="pinned"/> sends to
    /// that endpoint only (no redirects), for per-member calls such as status.
    /// <paramref name="answeredBy"/>, if given, learns which endpoint answered.
    /// </summary>
    /// <remarks><paramref name="waitTimeout"/> is for calls the server may hold on purpose (a lock
    /// or campaign waiting its turn): it replaces the request timeout (infinite allowed), attempts
    /// get no timeout of their own, and a TIMEOUT error is the server enforcing the caller's own
    /// deadline, so it is final rather than retried.</remarks>
    public async Task<TResponse> InvokeAsync<TResponse>(
        IMessage request, CallKind kind, EndpointAddress? pinned, CancellationToken cancellationToken, Action<EndpointAddress>? answeredBy = null, TimeSpan? waitTimeout = null)
        where TResponse : IMessage
    {
        TimeSpan requestTimeout = waitTimeout ?? _options.RequestTimeout;
        TimeSpan attemptTimeout = waitTimeout is null ? _options.AttemptTimeout : Timeout.InfiniteTimeSpan;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (requestTimeout != Timeout.InfiniteTimeSpan)
        {
            deadline.CancelAfter(requestTimeout);
        }

        Exception? lastFailure = null;
        SessionLane? lane = null;
        try
        {
            if (kind != CallKind.Read)
            {
                lane = await _lanes.RentAsync(deadline.Token).ConfigureAwait(false);
            }

            bool stamped = false;
            int retries = 0;
            int redirects = 0;
            var endpoint = pinned ?? _leaders.Preferred;
            while (true)
            {
                ProtocolConnection? connection = null;
                bool sent = false;
                try
                {
                    connection = await _connections.GetAsync(endpoint, deadline.Token).ConfigureAwait(false);
                    if (lane is not null && !stamped)
                    {
                        Stamp(request, lane, connection.ClientId);
                        stamped = true;
                    }

                    sent = true;
                    using var attempt = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
                    if (kind != CallKind.Membership && attemptTimeout != Timeout.InfiniteTimeSpan)
                    {
                        attempt.CancelAfter(attemptTimeout);
                    }

                    TResponse response;
                    try
                    {
                        response = await connection.SendAsync<TResponse>(request, attempt.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException ex) when (attempt.IsCancellationRequested && !deadline.IsCancellationRequested)
                    {
                        throw new AttemptTimedOutException(
                            $"{endpoint} did not answer {request.Descriptor.Name} within {_options.AttemptTimeout.TotalMilliseconds:0} ms", ex);
                    }

                    if (kind != CallKind.Read && pinned is null && _leaders.SetLeader(endpoint))
                    {
                        _logger.LogInformation("leader is {Endpoint}", endpoint);
                    }

                    answeredBy?.Invoke(endpoint);
                    return response;
                }
                catch (NotLeaderException ex) when (pinned is null)
                {
                    lastFailure = ex;
                    if (ex.LeaderHint is { } hint && TryParse(hint, out var leader) && leader != endpoint
                        && redirects++ < _leaders.Endpoints.Count + 1)
                    {
                        // A hint names the leader: go there at once; only repeated redirects
                        // (an election in progress) wait.
                        _logger.LogDebug("{Endpoint} is not the leader; redirected to {Leader}", endpoint, leader);
                        _leaders.SetLeader(leader);
                        endpoint = leader;
                        continue;
                    }

                    endpoint = _leaders.Next(endpoint);
                }
                catch (KvStoreConnectionException ex) when (kind != CallKind.Membership || !sent)
                {
                    lastFailure = ex;
                    _logger.LogDebug("connection to {Endpoint} failed: {Reason}", endpoint, ex.Message);
                    _connections.Invalidate(endpoint, connection);
                    endpoint = pinned ?? _leaders.Next(endpoint);
                }
                catch (AttemptTimedOutException ex)
                {
                    // The member may be cut off from the cluster: ask another. The connection
                    // stays, since a slow answer is no proof of a dead link.
                    lastFailure = ex;
                    _logger.LogDebug("{Reason}; trying the next member", ex.Message);
                    endpoint = pinned ?? _leaders.Next(endpoint);
                }
                catch (KvStoreProtocolException ex) when (ex.Code is ErrorCode.Unavailable || (ex.Code is ErrorCode.Timeout && waitTimeout is null))
                {
                    lastFailure = ex;
                    _logger.LogDebug("{Endpoint} cannot serve now: {Reason}", endpoint, ex.ServerMessage);
                    endpoint = pinned ?? _leaders.Next(endpoint);
                }
                catch (KvStoreProtocolException ex) when (ex.Code == ErrorCode.SessionExpired && lane is not null)
                {
                    // The server forgot this session, so it can no longer tell a retry from a new
                    // write: the call fails (it may have been applied), and the lane starts afresh.
                    lane.Renew(SessionLanePool.RandomClientId());
                    throw;
                }

                var delay = _backoff.Delay(retries++);
                _logger.LogDebug("retry {Retry} of {Request} in {Delay} ms", retries, request.Descriptor.Name, (int)delay.TotalMilliseconds);
                await Task.Delay(delay, deadline.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new KvStoreTimeoutException(
                $"{request.Descriptor.Name} did not complete within {requestTimeout.TotalMilliseconds:0} ms"
                + (lastFailure is null ? string.Empty : $"; last failure: {lastFailure.Message}"),
                lastFailure);
        }
        finally
        {
            if (lane is not null)
            {
                _lanes.Return(lane);
            }
        }
    }

    private static void Stamp(IMessage request, SessionLane lane, ulong handshakeClientId)
    {
        if (lane.ClientId == 0)
        {
            lane.ClientId = handshakeClientId;
        }

        var field = request.Descriptor.FindFieldByNumber(SessionFieldNumber)
            ?? throw new ArgumentException($"{request.Descriptor.Name} has no session field", nameof(request));
        field.Accessor.SetValue(request, new Session { ClientId = lane.ClientId, Sequence = lane.NextSequence() });
    }

    private static bool TryParse(string text, out EndpointAddress endpoint)
    {
        try
        {
            endpoint = EndpointAddress.Parse(text);
            return true;
        }
        catch (ArgumentException)
        {
            endpoint = default;
            return false;
        }
    }
}
