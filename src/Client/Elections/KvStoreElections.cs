using System.Net;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Google.Protobuf;
using KvStore.Client.Protocol;
using KvStore.Client.Routing;
using Wire = KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>
/// Leader elections (<c>client.Elections</c>, etcd's Election API). An election is a lock whose
/// holder is the leader; a campaign waits its turn first come, first served, bound to a lease,
/// and the leader key's revision is a fencing token for everything the leader writes.
/// </summary>
/// <example>
/// <code>
/// ElectionLeaderKey me = await client.Elections.CampaignAsync("svc/leader", "node-a:8080", lease);
/// await client.Elections.ProclaimAsync(me, "node-a:9090");
/// await foreach (LeaderObservation o in client.Elections.ObserveAsync("svc/leader", ct)) { ... }
/// await client.Elections.ResignAsync(me);
/// </code>
/// </example>
public sealed class KvStoreElections
{
    private static readonly TimeSpan ReconnectDelay = TimeSpan.FromMilliseconds(200);

    private readonly RequestInvoker _invoker;
    private readonly KvStoreClient _client;
    private readonly KvStoreLocks _locks;

    internal KvStoreElections(RequestInvoker invoker, KvStoreClient client, KvStoreLocks locks)
    {
        _invoker = invoker;
        _client = client;
        _locks = locks;
    }

    /// <summary>Campaigns in election <paramref name="name"/> with <paramref name="value"/>; returns once elected.</summary>
    /// <param name="name">The election.</param>
    /// <param name="value">The candidate's value (e.g. its address), the leader value once elected.</param>
    /// <param name="lease">A live lease; leadership ends with it.</param>
    /// <param name="timeout">How long to wait; null waits as long as the lease lives.</param>
    /// <param name="cancellationToken">Cancels the campaign.</param>
    /// <exception cref="KvStoreTimeoutException">Not elected within <paramref name="timeout"/>.</exception>
    public Task<ElectionLeaderKey> CampaignAsync(string name, string value, long lease, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        CampaignAsync(KvStoreLocks.Utf8(name), KvStoreLocks.Utf8(value), lease, timeout, cancellationToken);

    /// <inheritdoc cref="CampaignAsync(string, string, long, TimeSpan?, CancellationToken)"/>
    public async Task<ElectionLeaderKey> CampaignAsync(ReadOnlyMemory<byte> name, ReadOnlyMemory<byte> value, long lease, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        KvStoreLocks.CheckName(name);
        if (lease == 0)
        {
            throw new ArgumentException("a campaign is bound to a lease; grant one first", nameof(lease));
        }

        var request = new Wire.CampaignRequest
        {
            Name = ByteString.CopyFrom(name.Span),
            Value = ByteString.CopyFrom(value.Span),
            Lease = lease,
            TimeoutMs = timeout is { } wait ? Math.Max(1, (long)wait.TotalMilliseconds) : 0,
        };
        try
        {
            var response = await _invoker.InvokeAsync<Wire.CampaignResponse>(request, CallKind.Write, null, cancellationToken, waitTimeout: _locks.WaitBudget(timeout)).ConfigureAwait(false);
            return ElectionLeaderKey.FromMessage(response.Leader);
        }
        catch (KvStoreProtocolException ex) when (ex.Code == Wire.ErrorCode.Timeout)
        {
            throw new KvStoreTimeoutException($"not elected in {KvStoreLocks.Describe(name)} within {timeout?.TotalMilliseconds:0} ms", ex);
        }
    }

    /// <summary>
    /// Grants a lease of <paramref name="ttl"/> (kept alive while the returned leadership is held),
    /// campaigns with it and returns once elected. Disposing the leadership resigns.
    /// </summary>
    public async Task<ElectionLeadership> CampaignAsync(string name, string value, TimeSpan ttl, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        OwnedLease lease = await OwnedLease.GrantAsync(_invoker, ttl, cancellationToken).ConfigureAwait(false);
        ElectionLeaderKey leader;
        try
        {
            leader = await CampaignAsync(name, value, lease.Id, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await lease.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return new ElectionLeadership(leader, lease.Lost, async ct =>
        {
            try
            {
                await ResignAsync(leader, ct).ConfigureAwait(false);
            }
            finally
            {
                await lease.DisposeAsync().ConfigureAwait(false);
            }
        });
    }

    /// <summary>Sets the leader's value; refused (KEY_NOT_FOUND) unless <paramref name="leader"/> still leads.</summary>
    public Task ProclaimAsync(ElectionLeaderKey leader, string value, CancellationToken cancellationToken = default) =>
        ProclaimAsync(leader, KvStoreLocks.Utf8(value), cancellationToken);

    /// <inheritdoc cref="ProclaimAsync(ElectionLeaderKey, string, CancellationToken)"/>
    public async Task ProclaimAsync(ElectionLeaderKey leader, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(leader);
        var request = new Wire.ProclaimRequest { Leader = leader.ToMessage(), Value = ByteString.CopyFrom(value.Span) };
        await _invoker.InvokeAsync<Wire.ProclaimResponse>(request, CallKind.Write, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The current leader of <paramref name="name"/> (key and value), or null (linearizable).</summary>
    public Task<KvPair?> LeaderAsync(string name, CancellationToken cancellationToken = default) =>
        LeaderAsync(KvStoreLocks.Utf8(name), cancellationToken);

    /// <inheritdoc cref="LeaderAsync(string, CancellationToken)"/>
    public async Task<KvPair?> LeaderAsync(ReadOnlyMemory<byte> name, CancellationToken cancellationToken = default)
    {
        KvStoreLocks.CheckName(name);
        var response = await _invoker.InvokeAsync<Wire.LeaderResponse>(new Wire.LeaderRequest { Name = ByteString.CopyFrom(name.Span) }, CallKind.Read, null, cancellationToken).ConfigureAwait(false);
        return response.Kv is null ? null : KvPair.FromMessage(response.Kv);
    }

    /// <summary>Gives up leadership (or a campaign's place); does nothing if <paramref name="leader"/> is already gone.</summary>
    public async Task ResignAsync(ElectionLeaderKey leader, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(leader);
        await _invoker.InvokeAsync<Wire.ResignResponse>(new Wire.ResignRequest { Leader = leader.ToMessage() }, CallKind.Write, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The election's leader now and after every change of leader or leader value, in order.
    /// Survives server failures (it reconnects to another member and continues from that
    /// member's state, without repeating the state it last delivered). A consumer slower than the
    /// changes may skip intermediate states, never reorder them.
    /// </summary>
    public IAsyncEnumerable<LeaderObservation> ObserveAsync(string name, CancellationToken cancellationToken = default) =>
        ObserveAsync(KvStoreLocks.Utf8(name), cancellationToken);

    /// <inheritdoc cref="ObserveAsync(string, CancellationToken)"/>
    public async IAsyncEnumerable<LeaderObservation> ObserveAsync(ReadOnlyMemory<byte> name, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        KvStoreLocks.CheckName(name);
        (string Key, long ModRevision)? last = null;
        bool delivered = false;
        int attempt = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            ProtocolConnection? connection = await OpenAsync(name, attempt++, cancellationToken).ConfigureAwait(false);
            if (connection is null)
            {
                await Task.Delay(ReconnectDelay, cancellationToken).ConfigureAwait(false);
                continue;
            }

            try
            {
                while (await NextAsync(connection, cancellationToken).ConfigureAwait(false) is { } observation)
                {
                    (string, long)? identity = observation.Leader is { } kv ? (Convert.ToHexString(kv.Key.Span), kv.ModRevision) : null;
                    if (delivered && identity == last)
                    {
                        continue;
                    }

                    delivered = true;
                    last = identity;
                    yield return observation;
                }
            }
            finally
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>A dedicated connection with an observe stream started on it, or null if the member could not be reached.</summary>
    private async Task<ProtocolConnection?> OpenAsync(ReadOnlyMemory<byte> name, int attempt, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> endpoints = _client.Endpoints;
        string target = attempt == 0 && _client.Leader is { } leader ? leader : endpoints[attempt % endpoints.Count];
        EndpointAddress address = EndpointAddress.Parse(target);
        EndPoint endPoint = IPAddress.TryParse(address.Host, out IPAddress? ip) ? new IPEndPoint(ip, address.Port) : new DnsEndPoint(address.Host, address.Port);
        ProtocolConnection? connection = null;
        try
        {
            using var dial = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            dial.CancelAfter(_client.Options.DialTimeout);
            var options = new ProtocolConnectionOptions { ClientName = _client.Options.ClientName, Limits = _client.Options.Limits };
            connection = await ProtocolConnection.ConnectAsync(endPoint, options, null, dial.Token).ConfigureAwait(false);
            await connection.SendAsync<Wire.ObserveResponse>(new Wire.ObserveRequest { Name = ByteString.CopyFrom(name.Span) }, dial.Token).ConfigureAwait(false);
            return connection;
        }
        catch (Exception ex) when (ex is KvStoreException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            return null;
        }
    }

    /// <summary>The next observation on <paramref name="connection"/>, or null when the connection ended.</summary>
    private static async Task<LeaderObservation?> NextAsync(ProtocolConnection connection, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                PushFrame frame = await connection.PushFrames.ReadAsync(cancellationToken).ConfigureAwait(false);
                if (frame.Type != FrameType.ElectionObservation)
                {
                    continue;
                }

                var observation = Wire.ElectionObservation.Parser.ParseFrom(frame.Payload.Span);
                return new LeaderObservation(observation.Kv is null ? null : KvPair.FromMessage(observation.Kv), observation.Header?.Revision ?? 0);
            }
        }
        catch (Exception ex) when (ex is ChannelClosedException or KvStoreException or InvalidProtocolBufferException)
        {
            return null;
        }
    }
}
