using Google.Protobuf;
using KvStore.Client;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;
using KvStore.Raft.Core;
using KvStore.Raft.Host;
using KvStore.Server.Leases;
using KvStore.Server.Locks;
using KvStore.Server.Mvcc;
using KvStore.Server.Net;
using KvStore.Server.Protos;
using ClientNotLeaderException = KvStore.Client.NotLeaderException;
using HostNotLeaderException = KvStore.Raft.Host.NotLeaderException;

namespace KvStore.Server.Node;

/// <summary>
/// Serves client requests on a <see cref="KvNode"/>.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Writes (Put, DeleteRange, Txn, Compact) become a <see cref="KvCommand"/> — the session's
/// client id and sequence from the request, issued_at from this (leader's) clock — proposed to
/// the group; the answer is the state machine's result for that entry. A Txn is always proposed,
/// even a read-only one: it is then linearizable for free and bumps no revision.</item>
/// <item>Range reads are linearizable (ReadIndex, then read the local store) unless
/// <c>serializable</c>, which reads the local store as it is.</item>
/// <item>Followers do NOT forward: a write or linearizable read on a follower answers
/// NOT_LEADER with the leader's client URL as hint; the SDK follows it.</item>
/// <item>Membership changes are Raft conf changes whose context names the member (name, peer URL,
/// client URL when given), so every node learns every address from the log.</item>
/// </list>
/// </remarks>
public sealed class KvRequestHandler : IRequestHandler
{
    private readonly KvNode _node;
    private readonly LeaseRequests _leases;
    private readonly LockRequestHandler _locks;
    private readonly ElectionRequestHandler _elections;

    public KvRequestHandler(KvNode node)
    {
        _node = node;
        _leases = new LeaseRequests(node);
        var lockProposer = new LockProposer(node);
        _locks = new LockRequestHandler(lockProposer, node.Locks);
        _elections = new ElectionRequestHandler(lockProposer, node.Locks, _locks);
    }

    /// <summary>Share of the leader's commit index a learner must have before promotion (etcd's readyPercent).</summary>
    private const double LearnerReadyFraction = 0.9;

    private ulong Group => KvNode.DefaultGroup;

    public ValueTask<IMessage> HandleAsync(FrameType type, IMessage request, RequestContext context, CancellationToken cancellationToken) => type switch
    {
        FrameType.PutRequest => new(ProposeAsync(new KvCommand { Put = (PutRequest)request }, ((PutRequest)request).Session, cancellationToken)),
        FrameType.DeleteRangeRequest => new(ProposeAsync(new KvCommand { DeleteRange = (DeleteRangeRequest)request }, ((DeleteRangeRequest)request).Session, cancellationToken)),
        FrameType.TxnRequest => new(ProposeAsync(new KvCommand { Txn = (TxnRequest)request }, ((TxnRequest)request).Session, cancellationToken)),
        FrameType.CompactionRequest => new(ProposeAsync(new KvCommand { Compact = (CompactionRequest)request }, ((CompactionRequest)request).Session, cancellationToken)),
        FrameType.RangeRequest => new(RangeAsync((RangeRequest)request, cancellationToken)),
        FrameType.StatusRequest => new(Status()),
        FrameType.MemberListRequest => new(MemberListAsync((MemberListRequest)request, cancellationToken)),
        FrameType.MemberAddRequest => new(MemberAddAsync((MemberAddRequest)request, cancellationToken)),
        FrameType.MemberRemoveRequest => new(MemberRemoveAsync((MemberRemoveRequest)request, cancellationToken)),
        FrameType.MemberPromoteRequest => new(MemberPromoteAsync((MemberPromoteRequest)request, cancellationToken)),

        // Leases (src/Server/Leases/).
        FrameType.LeaseGrantRequest => new(ProposeAsync(new KvCommand { LeaseGrant = (LeaseGrantRequest)request }, ((LeaseGrantRequest)request).Session, cancellationToken)),
        FrameType.LeaseRevokeRequest => new(ProposeAsync(new KvCommand { LeaseRevoke = new LeaseRevokeCommand { Id = ((LeaseRevokeRequest)request).Id } }, ((LeaseRevokeRequest)request).Session, cancellationToken)),
        FrameType.LeaseKeepAliveRequest => new(Stamped(_leases.KeepAlive((LeaseKeepAliveRequest)request))),
        FrameType.LeaseTimeToLiveRequest => new(Stamped(_leases.TimeToLive((LeaseTimeToLiveRequest)request))),
        FrameType.LeaseLeasesRequest => new(LeaseListAsync(cancellationToken)),
        FrameType.LockRequest => new(_locks.LockAsync((LockRequest)request, cancellationToken)),
        FrameType.UnlockRequest => new(_locks.UnlockAsync((UnlockRequest)request, cancellationToken)),
        FrameType.ValidateFencingTokenRequest => new(_locks.ValidateFencingTokenAsync((ValidateFencingTokenRequest)request, cancellationToken)),
        FrameType.CampaignRequest => new(_elections.CampaignAsync((CampaignRequest)request, cancellationToken)),
        FrameType.ProclaimRequest => new(_elections.ProclaimAsync((ProclaimRequest)request, cancellationToken)),
        FrameType.LeaderRequest => new(_elections.LeaderAsync((LeaderRequest)request, cancellationToken)),
        FrameType.ResignRequest => new(_elections.ResignAsync((ResignRequest)request, cancellationToken)),
        FrameType.ObserveRequest => new(_elections.Observe((ObserveRequest)request, context)),
        FrameType.ObserveCancelRequest => new(_elections.ObserveCancel((ObserveCancelRequest)request, context)),
        // Watches (issue 5): served here from this node's applied state, see WatchHub.
        FrameType.WatchCreateRequest => new(StampAny(_node.Watches.Create((WatchCreateRequest)request, context))),
        FrameType.WatchCancelRequest => new(StampAny(_node.Watches.Cancel((WatchCancelRequest)request, context))),
        FrameType.WatchProgressRequest => new(StampAny(_node.Watches.RequestProgress(context))),
        _ => throw new KvStoreProtocolException(ErrorCode.UnknownType, $"request type {(byte)type} is not served by this node"),
    };

    private async Task<IMessage> ProposeAsync(KvCommand command, Session? session, CancellationToken cancellationToken)
    {
        if (session is { ClientId: not 0 })
        {
            command.ClientId = session.ClientId;
            command.Sequence = session.Sequence;
        }

        command.IssuedAtUnixMs = _node.Options.Clock.GetUtcNow().ToUnixTimeMilliseconds();
        object? result = await Raft(() => _node.Host.ProposeAsync(Group, command.ToByteArray(), cancellationToken)).ConfigureAwait(false);
        return result switch
        {
            Error error => error,
            PutResponse put => Stamp(put, put.Header ??= new ResponseHeader()),
            DeleteRangeResponse delete => Stamp(delete, delete.Header ??= new ResponseHeader()),
            TxnResponse txn => Stamp(txn, txn.Header ??= new ResponseHeader()),
            CompactionResponse compact => Stamp(compact, compact.Header ??= new ResponseHeader()),
            LeaseGrantResponse grant => Stamp(grant, grant.Header ??= new ResponseHeader()),
            LeaseRevokeResponse revoke => Stamp(revoke, revoke.Header ??= new ResponseHeader()),
            IMessage other => other,
            _ => throw new InvalidOperationException($"the state machine answered {result?.GetType().Name ?? "nothing"} for a {command.OpCase} command"),
        };
    }

    private async Task<IMessage> LeaseListAsync(CancellationToken cancellationToken)
    {
        await Raft(async () => (object?)await _node.Host.ReadIndexAsync(Group, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        return await Stamped(_leases.List()).ConfigureAwait(false);
    }

    private Task<IMessage> Stamped(IMessage response) => Task.FromResult<IMessage>(response switch
    {
        LeaseKeepAliveResponse r => Stamp(r, r.Header),
        LeaseTimeToLiveResponse r => Stamp(r, r.Header),
        LeaseLeasesResponse r => Stamp(r, r.Header),
        _ => response,
    });

    private async Task<IMessage> RangeAsync(RangeRequest request, CancellationToken cancellationToken)
    {
        if (!request.Serializable)
        {
            await Raft(async () => (object?)await _node.Host.ReadIndexAsync(Group, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        }

        try
        {
            RangeResponse response = _node.StateMachine.Store.Range(request);
            return Stamp(response, response.Header ??= new ResponseHeader());
        }
        catch (MvccException ex)
        {
            return ex.ToError();
        }
    }

    private Task<IMessage> Status()
    {
        RaftGroupStatus raft = _node.Host.GetStatus(Group);
        MvccStatus mvcc = _node.StateMachine.GetStatus();
        MemberRecord? self = _node.Members.Find(_node.Id);
        var response = new StatusResponse
        {
            Header = new ResponseHeader { Revision = mvcc.Revision },
            Version = typeof(KvRequestHandler).Assembly.GetName().Version?.ToString() ?? "0",
            Name = _node.Name,
            Leader = raft.Leader,
            IsLeader = raft.Role == RaftRole.Leader,
            IsLearner = self?.IsLearner ?? false,
            RaftTerm = (ulong)raft.Term,
            RaftCommitIndex = (ulong)raft.Commit,
            RaftAppliedIndex = (ulong)raft.Applied,
            DbSizeBytes = mvcc.DataSizeBytes,
        };
        return Task.FromResult<IMessage>(Stamp(response, response.Header));
    }

    private async Task<IMessage> MemberListAsync(MemberListRequest request, CancellationToken cancellationToken)
    {
        if (request.Linearizable)
        {
            await Raft(async () => (object?)await _node.Host.ReadIndexAsync(Group, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        }

        var response = new MemberListResponse { Header = new ResponseHeader() };
        response.Members.AddRange(MemberMessages());
        return Stamp(response, response.Header);
    }

    private async Task<IMessage> MemberAddAsync(MemberAddRequest request, CancellationToken cancellationToken)
    {
        ThrowUnlessLeader();
        if (string.IsNullOrWhiteSpace(request.Name) || request.PeerUrls.Count != 1)
        {
            return Error.Create(ErrorCode.InvalidArgument, "member add needs a name and exactly one peer URL");
        }

        if (request.ClientUrls.Count > 1)
        {
            return Error.Create(ErrorCode.InvalidArgument, "member add takes at most one client URL");
        }

        try
        {
            Peers.PeerAddress.Parse(request.PeerUrls[0]);
            foreach (string url in request.ClientUrls)
            {
                Peers.PeerAddress.Parse(url);
            }
        }
        catch (FormatException ex)
        {
            return Error.Create(ErrorCode.InvalidArgument, ex.Message);
        }

        ulong id = MemberIds.ForName(request.Name);
        if (_node.Members.Find(id) is not null)
        {
            return Error.Create(ErrorCode.InvalidArgument, $"a member named {request.Name} (id {id:x16}) already exists");
        }

        var member = new MemberRecord
        {
            Id = id,
            Name = request.Name,
            PeerUrl = request.PeerUrls[0],
            ClientUrl = request.ClientUrls.Count == 1 ? request.ClientUrls[0] : string.Empty,
            IsLearner = request.IsLearner,
        };
        var change = new ConfChange
        {
            Changes = [new ConfChangeSingle(request.IsLearner ? ConfChangeType.AddLearner : ConfChangeType.AddVoter, id)],
            Context = MemberEntryCodec.Encode(member),
        };
        await Raft(async () => (object?)await _node.Host.ProposeConfChangeAsync(Group, change, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        var response = new MemberAddResponse { Header = new ResponseHeader(), Member = ToMessage(member) };
        response.Members.AddRange(MembersAfter(id, member));
        return Stamp(response, response.Header);
    }

    private async Task<IMessage> MemberRemoveAsync(MemberRemoveRequest request, CancellationToken cancellationToken)
    {
        ThrowUnlessLeader();
        if (_node.Members.Find(request.Id) is null)
        {
            return Error.Create(ErrorCode.InvalidArgument, $"no member with id {request.Id:x16}");
        }

        var change = new ConfChange { Changes = [new ConfChangeSingle(ConfChangeType.RemoveNode, request.Id)] };
        await Raft(async () => (object?)await _node.Host.ProposeConfChangeAsync(Group, change, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        var response = new MemberRemoveResponse { Header = new ResponseHeader() };
        response.Members.AddRange(MembersAfter(request.Id, null));
        return Stamp(response, response.Header);
    }

    private async Task<IMessage> MemberPromoteAsync(MemberPromoteRequest request, CancellationToken cancellationToken)
    {
        ThrowUnlessLeader();
        if (_node.Members.Find(request.Id) is not { } member)
        {
            return Error.Create(ErrorCode.InvalidArgument, $"no member with id {request.Id:x16}");
        }

        if (!member.IsLearner)
        {
            return Error.Create(ErrorCode.InvalidArgument, $"member {member.Name} is already a voter");
        }

        // Like etcd, promote only a learner that has caught up: a voter far behind would make the
        // quorum wait for it (or, with one other node down, stall the group). Retryable: UNAVAILABLE.
        RaftStatus raft = await _node.Host.GetRaftStatusAsync(Group).ConfigureAwait(false);
        long match = raft.Progress.TryGetValue(request.Id, out PeerProgress progress) ? progress.Match : 0;
        if (match < raft.Commit * LearnerReadyFraction)
        {
            return Error.Create(
                ErrorCode.Unavailable,
                $"learner {member.Name} has not caught up yet: it has the log up to index {match}, the leader has committed {raft.Commit}; promote it once it has at least {LearnerReadyFraction:P0}");
        }

        var change = new ConfChange
        {
            Changes = [new ConfChangeSingle(ConfChangeType.AddVoter, request.Id)],
            Context = MemberEntryCodec.Encode(member with { IsLearner = false }),
        };
        await Raft(async () => (object?)await _node.Host.ProposeConfChangeAsync(Group, change, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        var response = new MemberPromoteResponse { Header = new ResponseHeader() };
        response.Members.AddRange(MembersAfter(request.Id, member with { IsLearner = false }));
        return Stamp(response, response.Header);
    }

    private IEnumerable<Member> MemberMessages() => _node.Members.Members.Select(ToMessage);

    /// <summary>
    /// The member list with a just-committed change applied. The host completes a conf change when
    /// it applies it, which may be just before the member directory (updated by the state machine in
    /// the same loop iteration) shows it, so the answer applies the change itself.
    /// </summary>
    private IEnumerable<Member> MembersAfter(ulong id, MemberRecord? changed)
    {
        IEnumerable<MemberRecord> others = _node.Members.Members.Where(m => m.Id != id);
        if (changed is not null)
        {
            MemberRecord current = _node.Members.Find(id) is { } known ? known with { IsLearner = changed.IsLearner } : changed;
            others = others.Append(current);
        }

        return others.OrderBy(m => m.Name, StringComparer.Ordinal).Select(ToMessage);
    }

    private static Member ToMessage(MemberRecord m)
    {
        var member = new Member { Id = m.Id, Name = m.Name, IsLearner = m.IsLearner };
        member.PeerUrls.Add(m.PeerUrl);
        if (m.ClientUrl.Length > 0)
        {
            member.ClientUrls.Add(m.ClientUrl);
        }

        return member;
    }

    private IMessage StampAny(IMessage response) => response switch
    {
        WatchCreateResponse m => Stamp(m, m.Header ??= new ResponseHeader()),
        WatchCancelResponse m => Stamp(m, m.Header ??= new ResponseHeader()),
        WatchProgressResponse m => Stamp(m, m.Header ??= new ResponseHeader()),
        _ => response,
    };

    private T Stamp<T>(T response, ResponseHeader header)
        where T : IMessage
    {
        header.ClusterId = _node.ClusterId;
        header.MemberId = _node.Id;
        header.GroupId = Group;
        RaftGroupStatus status = _node.Host.GetStatus(Group);
        header.RaftTerm = (ulong)status.Term;
        if (status.Role != RaftRole.Leader && _node.ClientUrlOf(status.Leader) is { } hint)
        {
            header.LeaderHint = hint;
        }

        return response;
    }

    /// <summary>
    /// Membership requests are validated against the member directory, which on a follower may lag the
    /// log (a member re-added on an empty data directory replays it): only the leader's view decides,
    /// so a follower redirects instead of answering a stale "already exists" or "no such member".
    /// </summary>
    private void ThrowUnlessLeader()
    {
        RaftGroupStatus status = _node.Host.GetStatus(Group);
        if (status.Role != RaftRole.Leader)
        {
            throw new ClientNotLeaderException(
                $"membership changes go to the leader; node {_node.Name} is a {status.Role.ToString().ToLowerInvariant()}",
                _node.ClientUrlOf(status.Leader));
        }
    }

    /// <summary>Runs a Raft call and turns its refusals into the protocol's errors.</summary>
    private Task<object?> Raft(Func<Task<object?>> call) => RaftCallErrors.CallAsync(_node, call);
}
