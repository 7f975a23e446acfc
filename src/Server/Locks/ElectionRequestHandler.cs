using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using KvStore.Server.Net;
using KvStore.Server.Protos;

namespace KvStore.Server.Locks;

/// <summary>
/// etcd's Election API on the lock machinery: an election NAME is the lock NAME, its leader the
/// lock's holder, the leader's value the holder key's value, and the leader key's create_revision
/// (the lock's fencing token) guards everything the leader does.
/// </summary>
public sealed class ElectionRequestHandler
{
    private readonly LockProposer _proposer;
    private readonly LockService _service;
    private readonly LockRequestHandler _locks;

    public ElectionRequestHandler(LockProposer proposer, LockService service, LockRequestHandler locks)
    {
        _proposer = proposer;
        _service = service;
        _locks = locks;
    }

    /// <summary>Blocks until the candidate leads; a campaign is a lock acquisition whose key holds the candidate's value.</summary>
    public async Task<IMessage> CampaignAsync(CampaignRequest request, CancellationToken cancellationToken)
    {
        object outcome = await _locks.AcquireAsync(request.Name, request.Lease, request.Value, request.TimeoutMs, 0, request.Session, cancellationToken).ConfigureAwait(false);
        if (outcome is not LockEnqueueResult granted)
        {
            return (IMessage)outcome;
        }

        var leader = new LeaderKey { Name = request.Name, Key = granted.Key, Rev = granted.CreateRevision, Lease = request.Lease };
        if (!granted.Created)
        {
            // A repeated campaign of the same lease found its old key: it leads with the value asked for now.
            await ProclaimAsync(new ProclaimRequest { Leader = leader, Value = request.Value }, cancellationToken).ConfigureAwait(false);
        }

        return new CampaignResponse { Header = _proposer.Header(), Leader = leader };
    }

    /// <summary>Sets the leader's value: a put guarded by FENCE, so only the current leader's proclamation lands.</summary>
    public async Task<IMessage> ProclaimAsync(ProclaimRequest request, CancellationToken cancellationToken)
    {
        if (request.Leader is not { } leader || leader.Name.IsEmpty || leader.Key.IsEmpty)
        {
            return Error.Create(ErrorCode.InvalidArgument, "proclaim: a leader key (name, key, rev) is required");
        }

        var txn = new TxnRequest
        {
            Compare = { Fence(leader) },
            Success = { new RequestOp { RequestPut = new PutRequest { Key = leader.Key, Value = request.Value, IgnoreLease = true } } },
            Session = request.Session,
        };
        object? result = await _proposer.ProposeAsync(new KvCommand { Txn = txn }, request.Session, cancellationToken).ConfigureAwait(false);
        return result switch
        {
            TxnResponse { Succeeded: true } ok => new ProclaimResponse { Header = _proposer.Header(ok.Header?.Revision) },
            TxnResponse => NotLeader(leader),
            Error error => error,
            _ => Error.Create(ErrorCode.Internal, $"proclaim answered {result?.GetType().Name ?? "nothing"}"),
        };
    }

    /// <summary>The election's current leader key and value (linearizable).</summary>
    public async Task<IMessage> LeaderAsync(LeaderRequest request, CancellationToken cancellationToken)
    {
        if (request.Name.IsEmpty)
        {
            return Error.Create(ErrorCode.InvalidArgument, "leader: the election name is empty");
        }

        await _proposer.ReadIndexAsync(cancellationToken).ConfigureAwait(false);
        (KeyValue? holder, _) = LockTable.ReadHolder(_service.Machine.Store, request.Name.Span);
        var response = new LeaderResponse { Header = _proposer.Header() };
        if (holder is not null)
        {
            response.Kv = holder;
        }

        return response;
    }

    /// <summary>Gives up leadership: deletes the leader key if it is still this incarnation (create_revision == rev).</summary>
    public async Task<IMessage> ResignAsync(ResignRequest request, CancellationToken cancellationToken)
    {
        if (request.Leader is not { } leader || leader.Key.IsEmpty)
        {
            return Error.Create(ErrorCode.InvalidArgument, "resign: a leader key is required");
        }

        var txn = new TxnRequest
        {
            Compare = { new Compare { Key = leader.Key, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = leader.Rev } },
            Success = { new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = leader.Key } } },
            Session = request.Session,
        };
        object? result = await _proposer.ProposeAsync(new KvCommand { Txn = txn }, request.Session, cancellationToken).ConfigureAwait(false);
        return result switch
        {
            TxnResponse ok => new ResignResponse { Header = _proposer.Header(ok.Header?.Revision) },
            Error error => error,
            _ => Error.Create(ErrorCode.Internal, $"resign answered {result?.GetType().Name ?? "nothing"}"),
        };
    }

    /// <summary>Starts an observe stream on the request's connection; observations follow as push frames.</summary>
    public IMessage Observe(ObserveRequest request, RequestContext context)
    {
        if (request.Name.IsEmpty)
        {
            return Error.Create(ErrorCode.InvalidArgument, "observe: the election name is empty");
        }

        ElectionObserver observer = _service.AddObserver(request.Name.ToByteArray(), context.Connection);
        return new ObserveResponse { Header = _proposer.Header(), ObserveId = observer.Id };
    }

    public IMessage ObserveCancel(ObserveCancelRequest request, RequestContext context) =>
        _service.RemoveObserver(request.ObserveId, context.Connection)
            ? new ObserveCancelResponse { Header = _proposer.Header() }
            : Error.Create(ErrorCode.InvalidArgument, $"observe cancel: no observe stream {request.ObserveId} on this connection");

    private static Compare Fence(LeaderKey leader) => new()
    {
        Key = leader.Name,
        Target = Compare.Types.CompareTarget.Fence,
        Result = Compare.Types.CompareResult.Equal,
        FencingToken = leader.Rev,
    };

    private static Error NotLeader(LeaderKey leader) => Error.Create(
        ErrorCode.KeyNotFound,
        $"election {leader.Name.ToStringUtf8()}: {leader.Key.ToStringUtf8()} (rev {leader.Rev}) is not the leader any more");
}
