using KvStore.Client;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Server.Cli;

/// <summary>Asks nodes for their Status over the native protocol, to learn when a cluster has a leader.</summary>
public static class ClusterStatusProbe
{
    /// <summary>The Status of the node at <paramref name="endpoint"/>, or null when it does not answer.</summary>
    public static async Task<StatusResponse?> TryStatusAsync(string endpoint, CancellationToken cancellationToken)
    {
        (string host, int port) = Peers.PeerAddress.Parse(endpoint);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            await using ProtocolConnection connection = await ProtocolConnection.ConnectAsync(host, port, cancellationToken: timeout.Token).ConfigureAwait(false);
            return await connection.StatusAsync(new StatusRequest(), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is KvStoreException or OperationCanceledException or IOException)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return null;
        }
    }

    /// <summary>
    /// Waits until every node answers and all agree on one leader that calls itself leader.
    /// Returns the leader's endpoint.
    /// </summary>
    public static async Task<string> WaitForLeaderAsync(IReadOnlyList<string> endpoints, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            try
            {
                StatusResponse?[] statuses = await Task.WhenAll(endpoints.Select(e => TryStatusAsync(e, deadline.Token))).ConfigureAwait(false);
                if (statuses.All(s => s is not null))
                {
                    int leader = Array.FindIndex(statuses, s => s!.IsLeader);
                    if (leader >= 0 && statuses.All(s => s!.Leader == statuses[leader]!.Header.MemberId))
                    {
                        return endpoints[leader];
                    }
                }

                await Task.Delay(TimeSpan.FromMilliseconds(200), deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"no leader elected among {string.Join(",", endpoints)} within {timeout.TotalSeconds:0} s");
            }
        }
    }
}
