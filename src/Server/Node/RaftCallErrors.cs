using KvStore.Client;
using KvStore.Client.Protocol.Messages;
using KvStore.Raft.Core;
using KvStore.Raft.Host;
using KvStore.Server.Mvcc;
using ClientNotLeaderException = KvStore.Client.NotLeaderException;
using HostNotLeaderException = KvStore.Raft.Host.NotLeaderException;

namespace KvStore.Server.Node;

/// <summary>
/// Turns the Raft host's refusals into the native protocol's errors, the one mapping every request
/// handler on a node uses: not leader (with the leader's client URL as hint), dropped proposals,
/// timeouts, MVCC refusals, and a host that cannot serve.
/// </summary>
public static class RaftCallErrors
{
    /// <summary>Runs <paramref name="call"/> on <paramref name="node"/> and rethrows its refusals as protocol errors.</summary>
    public static async Task<object?> CallAsync(KvNode node, Func<Task<object?>> call)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(call);
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (HostNotLeaderException ex)
        {
            throw new ClientNotLeaderException(ex.Message, node.ClientUrlOf(ex.LeaderId));
        }
        catch (ProposalDroppedException ex) when (ex.Reason is DropReason.NoLeader or DropReason.ForwardingDisabled or DropReason.NotAVoter)
        {
            throw new ClientNotLeaderException(ex.Message, node.ClientUrlOf(ex.LeaderHint));
        }
        catch (ProposalDroppedException ex)
        {
            throw new KvStoreProtocolException(ErrorCode.Unavailable, ex.Message);
        }
        catch (TimeoutException ex)
        {
            throw new KvStoreProtocolException(ErrorCode.Timeout, ex.Message);
        }
        catch (MvccException ex)
        {
            throw new KvStoreProtocolException(ex.Code, ex.Message);
        }
        catch (Exception ex) when (ex is HostFailedException or ObjectDisposedException or GroupNotFoundException)
        {
            throw new KvStoreProtocolException(ErrorCode.Unavailable, $"node {node.Name} cannot serve: {ex.Message}");
        }
    }
}
