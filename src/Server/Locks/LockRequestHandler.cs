using Google.Protobuf;
using KvStore.Client;
using KvStore.Client.Protocol.Messages;
using KvStore.Server.Protos;

namespace KvStore.Server.Locks;

/// <summary>
/// Serves Lock, Unlock and ValidateFencingToken (and, for <see cref="ElectionRequestHandler"/>,
/// the acquisition behind Campaign).
/// </summary>
/// <remarks>
/// Lock = enqueue (a replicated command, in the request's session so a retried request finds
/// the same waiter key) then wait until the applied state shows this waiter granted. The wait
/// ends with the grant (LockResponse with the key and fencing token), with the waiter key gone
/// (its lease ended: LEASE_NOT_FOUND), or with the request's timeout (the waiter key is removed:
/// TIMEOUT). A waiter overtaken by a younger one (the leader thought its lease dead) queues
/// again at the back, since its token could no longer grow.
/// </remarks>
public sealed class LockRequestHandler
{
    private readonly LockProposer _proposer;
    private readonly LockService _service;

    public LockRequestHandler(LockProposer proposer, LockService service)
    {
        _proposer = proposer;
        _service = service;
    }

    public async Task<IMessage> LockAsync(LockRequest request, CancellationToken cancellationToken)
    {
        object outcome = await AcquireAsync(request.Name, request.Lease, ByteString.Empty, request.TimeoutMs, request.LockDelayMs, request.Session, cancellationToken).ConfigureAwait(false);
        return outcome is LockEnqueueResult granted
            ? new LockResponse { Header = _proposer.Header(), Key = granted.Key, FencingToken = granted.CreateRevision }
            : (IMessage)outcome;
    }

    public async Task<IMessage> UnlockAsync(UnlockRequest request, CancellationToken cancellationToken)
    {
        // On the leader the unlock carries the next waiter's grant: the hand-off is one Raft write.
        var unlock = new LockUnlock { Key = request.Key, Next = _service.HandOffGrant(request.Key) };
        object? result = await _proposer.ProposeAsync(new KvCommand { LockUnlock = unlock }, request.Session, cancellationToken).ConfigureAwait(false);
        return result switch
        {
            UnlockResponse response => Stamp(response),
            Error error => error,
            _ => Unexpected(result),
        };
    }

    public async Task<IMessage> ValidateFencingTokenAsync(ValidateFencingTokenRequest request, CancellationToken cancellationToken)
    {
        if (request.Name.IsEmpty)
        {
            return Error.Create(ErrorCode.InvalidArgument, "validate fencing token: the lock name is empty");
        }

        // Linearizable, as Chubby's CheckSequencer must be: a token the lock has moved past
        // anywhere in the cluster before this call is never reported valid.
        await _proposer.ReadIndexAsync(cancellationToken).ConfigureAwait(false);
        (KeyValue? holder, _) = LockTable.ReadHolder(_service.Machine.Store, request.Name.Span);
        long current = holder?.CreateRevision ?? 0;
        return new ValidateFencingTokenResponse
        {
            Header = _proposer.Header(),
            Valid = current != 0 && current == request.FencingToken,
            CurrentToken = current,
        };
    }

    /// <summary>
    /// Enqueues a waiter and waits for its grant. Returns the <see cref="LockEnqueueResult"/> of
    /// the granted waiter (its create_revision is the token) or an <see cref="Error"/>.
    /// </summary>
    internal async Task<object> AcquireAsync(ByteString name, long lease, ByteString value, long timeoutMs, long lockDelayMs, Session? session, CancellationToken cancellationToken)
    {
        if (name.IsEmpty)
        {
            return Error.Create(ErrorCode.InvalidArgument, "lock: the lock name is empty");
        }

        if (lease == 0)
        {
            return Error.Create(ErrorCode.InvalidArgument, "lock: a lock is bound to a lease; lease 0 given");
        }

        if (timeoutMs < 0 || lockDelayMs < 0)
        {
            return Error.Create(ErrorCode.InvalidArgument, "lock: timeout_ms and lock_delay_ms must not be negative");
        }

        TimeSpan timeout = timeoutMs == 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(timeoutMs);
        long deadline = timeoutMs == 0 ? long.MaxValue : _service.NowUnixMs + timeoutMs;
        Session? enqueueSession = session;
        using IDisposable declared = _service.DeclareLockDelay(WaiterKeys.For(name.Span, lease), lockDelayMs);
        while (true)
        {
            var enqueue = new KvCommand { LockEnqueue = new LockEnqueue { Name = name, Lease = lease, Value = value } };
            object? result = await _proposer.ProposeAsync(enqueue, enqueueSession, cancellationToken).ConfigureAwait(false);

            // Only the first enqueue belongs to the client's session; a re-queue is this server's own command.
            enqueueSession = null;
            if (result is not LockEnqueueResult queued)
            {
                return result as Error ?? Error.Create(ErrorCode.Internal, $"lock enqueue answered {result?.GetType().Name ?? "nothing"}");
            }

            LockWaiter waiter = _service.AddWaiter(name.ToByteArray(), queued.Key.ToByteArray(), queued.CreateRevision, lockDelayMs);
            LockWaitOutcome outcome;
            try
            {
                TimeSpan remaining = deadline == long.MaxValue ? timeout : TimeSpan.FromMilliseconds(Math.Max(0, deadline - _service.NowUnixMs));
                outcome = await waiter.Outcome.WaitAsync(remaining, _service.Clock, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Give up the place in the queue; if the grant raced in, this releases it as well.
                await _proposer.ProposeAsync(new KvCommand { LockUnlock = new LockUnlock { Key = queued.Key } }, null, CancellationToken.None).ConfigureAwait(false);
                return Error.Create(ErrorCode.Timeout, $"lock {LockTable.Describe(name.ToByteArray())}: not acquired within {timeoutMs} ms");
            }
            finally
            {
                _service.RemoveWaiter(waiter);
            }

            switch (outcome)
            {
                case LockWaitOutcome.Granted:
                    return queued;
                case LockWaitOutcome.Gone:
                    return Error.Create(ErrorCode.LeaseNotFound, $"lock {LockTable.Describe(name.ToByteArray())}: waiter {queued.Key.ToStringUtf8()} was removed while waiting (lease {lease} ended, or it was unlocked): {waiter.Detail}");
                default:
                    await _proposer.ProposeAsync(new KvCommand { LockUnlock = new LockUnlock { Key = queued.Key } }, null, cancellationToken).ConfigureAwait(false);
                    continue;
            }
        }
    }

    private UnlockResponse Stamp(UnlockResponse response)
    {
        response.Header = _proposer.Header(response.Header?.Revision);
        return response;
    }

    private static Error Unexpected(object? result) =>
        Error.Create(ErrorCode.Internal, $"the state machine answered {result?.GetType().Name ?? "nothing"}");
}
