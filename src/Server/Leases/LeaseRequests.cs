using Google.Protobuf;
using KvStore.Client;
using KvStore.Client.Protocol.Messages;
using KvStore.Raft.Core;
using KvStore.Raft.Host;
using KvStore.Server.Node;
using ClientNotLeaderException = KvStore.Client.NotLeaderException;

namespace KvStore.Server.Leases;

/// <summary>
/// The lease requests a node answers without a proposal: KeepAlive and TimeToLive from the
/// leader's <see cref="LeaseService"/> (NOT_LEADER elsewhere, UNAVAILABLE while a new leader loads
/// its leases), and the lease list from the applied state. Grant and Revoke are proposals (see
/// <see cref="KvRequestHandler"/>).
/// </summary>
public sealed class LeaseRequests(KvNode node)
{
    public LeaseKeepAliveResponse KeepAlive(LeaseKeepAliveRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        IReadOnlyList<LeaseKeepAliveResult> results = node.Leases.KeepAlive(request.Ids) ?? throw NotServing("renewals");
        var response = new LeaseKeepAliveResponse { Header = new ResponseHeader { Revision = node.StateMachine.Store.CurrentRevision } };
        response.Results.AddRange(results);
        return response;
    }

    public LeaseTimeToLiveResponse TimeToLive(LeaseTimeToLiveRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        long remainingMs = node.Leases.RemainingMs(request.Id) ?? throw NotServing("lease TTLs");
        var response = new LeaseTimeToLiveResponse
        {
            Header = new ResponseHeader { Revision = node.StateMachine.Store.CurrentRevision },
            Id = request.Id,
            TtlSeconds = remainingMs < 0 ? -1 : (remainingMs + 999) / 1000,
        };
        if (remainingMs >= 0)
        {
            response.GrantedTtlSeconds = node.StateMachine.Leases.GrantedTtlSeconds(request.Id) ?? 0;
            if (request.Keys)
            {
                response.Keys.AddRange(node.StateMachine.Leases.AttachedKeys(request.Id).Select(ByteString.CopyFrom));
            }
        }

        return response;
    }

    /// <summary>The live leases of the applied state (the caller confirms it is current with ReadIndex first).</summary>
    public LeaseLeasesResponse List()
    {
        var response = new LeaseLeasesResponse { Header = new ResponseHeader { Revision = node.StateMachine.Store.CurrentRevision } };
        response.Leases.AddRange(node.StateMachine.Leases.Live().Select(l => new LeaseStatus { Id = l.Id }));
        return response;
    }

    private KvStoreException NotServing(string what)
    {
        RaftGroupStatus status = node.Host.GetStatus(KvNode.DefaultGroup);
        if (status.Role != RaftRole.Leader)
        {
            return new ClientNotLeaderException(
                $"{what} are answered by the leader; node {node.Name} is a {status.Role.ToString().ToLowerInvariant()}",
                node.ClientUrlOf(status.Leader));
        }

        return new KvStoreProtocolException(ErrorCode.Unavailable, $"node {node.Name} has just become leader and is loading its leases; retry");
    }
}
