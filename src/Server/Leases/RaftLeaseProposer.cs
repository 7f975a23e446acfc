using Google.Protobuf;
using KvStore.Raft.Core;
using KvStore.Raft.Host;
using KvStore.Server.Protos;

namespace KvStore.Server.Leases;

/// <summary>Proposes the lease service's commands to a group of a <see cref="RaftHost"/>, stamped with the node's clock.</summary>
public sealed class RaftLeaseProposer(RaftHost host, ulong group, TimeProvider clock) : ILeaseProposer
{
    public (bool IsLeader, long Term) Leadership
    {
        get
        {
            RaftGroupStatus status = host.GetStatus(group);
            return (status.Role == RaftRole.Leader, status.Term);
        }
    }

    public Task<object?> ProposeAsync(KvCommand command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.IssuedAtUnixMs = clock.GetUtcNow().ToUnixTimeMilliseconds();
        return host.ProposeAsync(group, command.ToByteArray(), cancellationToken);
    }
}
