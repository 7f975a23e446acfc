using Google.Protobuf;
using KvStore.Client;
using KvStore.Client.Protocol.Messages;
using KvStore.Raft.Core;
using KvStore.Raft.Host;
using KvStore.Server.Mvcc;
using KvStore.Server.Node;
using KvStore.Server.Protos;
using ClientNotLeaderException = KvStore.Client.NotLeaderException;
using HostNotLeaderException = KvStore.Raft.Host.NotLeaderException;

namespace KvStore.Server.Locks;

/// <summary>
/// Proposes lock commands and confirms linearizable reads for the lock and election request
/// handlers, turning Raft's refusals into the protocol's errors (NOT_LEADER with a hint,
/// UNAVAILABLE, TIMEOUT) the same way the key-value handler does.
/// </summary>
public sealed class LockProposer
{
    private readonly KvNode _node;

    public LockProposer(KvNode node)
    {
        _node = node;
    }

    public KvNode Node => _node;

    /// <summary>Proposes <paramref name="command"/> (in the request's session, if any) and returns the state machine's answer.</summary>
    public async Task<object?> ProposeAsync(KvCommand command, Session? session, CancellationToken cancellationToken)
    {
        if (session is { ClientId: not 0 })
        {
            command.ClientId = session.ClientId;
            command.Sequence = session.Sequence;
        }

        command.IssuedAtUnixMs = _node.Options.Clock.GetUtcNow().ToUnixTimeMilliseconds();
        return await Raft(() => _node.Host.ProposeAsync(KvNode.DefaultGroup, command.ToByteArray(), cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>Waits until this node has applied everything committed before the call (Raft ReadIndex).</summary>
    public Task ReadIndexAsync(CancellationToken cancellationToken) =>
        Raft(async () => (object?)await _node.Host.ReadIndexAsync(KvNode.DefaultGroup, cancellationToken).ConfigureAwait(false));

    /// <summary>A response header naming this member, its group, term and the store's current revision.</summary>
    public ResponseHeader Header(long? revision = null)
    {
        RaftGroupStatus status = _node.Host.GetStatus(KvNode.DefaultGroup);
        var header = new ResponseHeader
        {
            ClusterId = _node.ClusterId,
            MemberId = _node.Id,
            GroupId = KvNode.DefaultGroup,
            RaftTerm = (ulong)status.Term,
            Revision = revision ?? _node.StateMachine.Store.CurrentRevision,
        };
        if (status.Role != RaftRole.Leader && _node.ClientUrlOf(status.Leader) is { } hint)
        {
            header.LeaderHint = hint;
        }

        return header;
    }

    private Task<object?> Raft(Func<Task<object?>> call) => RaftCallErrors.CallAsync(_node, call);
}
