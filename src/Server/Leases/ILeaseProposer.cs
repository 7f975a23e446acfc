using KvStore.Server.Protos;

namespace KvStore.Server.Leases;

/// <summary>
/// What the <see cref="LeaseService"/> needs of its Raft group: who leads, and a way to propose a
/// command. The node's implementation is <see cref="RaftLeaseProposer"/>; tests drive the service
/// with one that applies commands to a state machine directly.
/// </summary>
public interface ILeaseProposer
{
    /// <summary>Whether this node leads the group now, and in which term.</summary>
    (bool IsLeader, long Term) Leadership { get; }

    /// <summary>Proposes <paramref name="command"/> (its issued_at stamped by the proposer) and returns the state machine's result.</summary>
    Task<object?> ProposeAsync(KvCommand command, CancellationToken cancellationToken);
}
