using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace KvStore.Client.Recipes;

/// <summary>
/// A candidate that campaigns in an election for as long as it runs (built on
/// <see cref="KvStoreElections"/>): it waits its turn, leads until its lease ends, its leader key
/// is deleted or it resigns, and then campaigns again. <see cref="IsLeader"/> and
/// <see cref="FencingToken"/> say where it stands; <see cref="LeadershipChanged"/> and
/// <see cref="ChangesAsync"/> report every change.
/// </summary>
/// <remarks>
/// <para>Each campaign is bound to a lease of its own, kept alive by the client. When the client
/// reports the lease lost, or a watch sees the leader key deleted, the candidate reports that it
/// no longer leads — but another candidate may lead before this process hears of it (a pause, a
/// partition). Guard every write made as leader with <see cref="Fence"/> (or hand out
/// <see cref="FencingToken"/>): the store refuses a deposed leader's fenced writes.</para>
/// <para>Event handlers run on the campaign loop; a handler that throws does not stop it.</para>
/// </remarks>
/// <example>
/// <code>
/// await using var candidate = new LeaderElection(client, "svc/scheduler", "node-a");
/// candidate.Start();
/// await foreach (LeadershipChange c in candidate.ChangesAsync(ct))
/// {
///     if (c.IsLeader) await client.Txn().If(c.Leader!.Fence).Then(Op.Put("svc/owner", "node-a")).CommitAsync(ct);
/// }
/// </code>
/// </example>
public sealed class LeaderElection : IAsyncDisposable
{
    private readonly KvStoreClient _client;
    private readonly LeaderElectionOptions _options;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<ChannelWriter<LeadershipChange>> _subscribers = [];
    private LeadershipChange _current = new(false, null);
    private Task? _loop;

    /// <summary>Creates a candidate for election <paramref name="name"/> with <paramref name="value"/> (no call is made until <see cref="Start"/>).</summary>
    public LeaderElection(KvStoreClient client, string name, string value, LeaderElectionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);
        _client = client;
        Name = name;
        Value = value;
        _options = options ?? new LeaderElectionOptions();
    }

    /// <summary>Raised after every change of this candidate's leadership.</summary>
    public event EventHandler<LeadershipChange>? LeadershipChanged;

    /// <summary>The election.</summary>
    public string Name { get; }

    /// <summary>The value this candidate leads with.</summary>
    public string Value { get; }

    /// <summary>Whether this candidate leads, as far as it knows now.</summary>
    public bool IsLeader => Current.IsLeader;

    /// <summary>The fencing token of the current term of leadership; 0 when not leading.</summary>
    public long FencingToken => Current.FencingToken;

    /// <summary>The leader key while leading; null otherwise.</summary>
    public ElectionLeaderKey? Leader => Current.Leader;

    /// <summary>A condition that holds only while this candidate's current term lasts; null when not leading.</summary>
    public TxnCondition? Fence => Current.Leader?.Fence;

    private LeadershipChange Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>Starts campaigning in the background (a second call does nothing).</summary>
    public void Start()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
            _loop ??= Task.Run(() => CampaignLoopAsync(_stop.Token));
        }
    }

    /// <summary>
    /// The current state first, then every change, until <paramref name="cancellationToken"/> is
    /// cancelled or the candidate is disposed. A slow consumer gets every change, in order.
    /// </summary>
    public async IAsyncEnumerable<LeadershipChange> ChangesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateUnbounded<LeadershipChange>(new UnboundedChannelOptions { SingleReader = true });
        lock (_gate)
        {
            channel.Writer.TryWrite(_current);
            if (_stop.IsCancellationRequested)
            {
                channel.Writer.TryComplete();
            }
            else
            {
                _subscribers.Add(channel.Writer);
            }
        }

        try
        {
            await foreach (LeadershipChange change in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return change;
            }
        }
        finally
        {
            lock (_gate)
            {
                _subscribers.Remove(channel.Writer);
            }
        }
    }

    /// <summary>Stops campaigning; if leading, resigns (the next candidate takes over at once) and reports the loss.</summary>
    public async Task ResignAsync(CancellationToken cancellationToken = default)
    {
        Task? loop;
        lock (_gate)
        {
            _stop.Cancel();
            loop = _loop;
        }

        if (loop is not null)
        {
            await loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        lock (_gate)
        {
            foreach (ChannelWriter<LeadershipChange> subscriber in _subscribers)
            {
                subscriber.TryComplete();
            }

            _subscribers.Clear();
        }
    }

    /// <summary>Resigns and stops.</summary>
    public async ValueTask DisposeAsync()
    {
        await ResignAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task CampaignLoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await CampaignOnceAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (KvStoreException)
            {
                // The cluster could not be reached or the lease ended mid-campaign: try again with a new lease.
                try
                {
                    await Task.Delay(_options.RetryDelay, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task CampaignOnceAsync(CancellationToken stop)
    {
        await using Lease lease = await _client.Leases.GrantAsync(_options.LeaseTtl, cancellationToken: stop).ConfigureAwait(false);
        using var term = CancellationTokenSource.CreateLinkedTokenSource(stop, lease.Lost);
        ElectionLeaderKey leader;
        try
        {
            leader = await _client.Elections.CampaignAsync(Name, Value, lease.Id, cancellationToken: term.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (lease.IsLost && !stop.IsCancellationRequested)
        {
            return;
        }

        Publish(new LeadershipChange(true, leader));
        try
        {
            // Leadership ends with the lease (the client reports it lost) or with the leader key
            // (deleted by a resign elsewhere or by the lease's expiry seen by the store first).
            await KeyChangeWaiter.WaitForDeleteAsync(_client, leader.KeyText, prefix: false, leader.Revision, term.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (term.IsCancellationRequested)
        {
            if (stop.IsCancellationRequested && !lease.IsLost)
            {
                await ResignQuietlyAsync(leader).ConfigureAwait(false);
            }
        }
        finally
        {
            Publish(new LeadershipChange(false, null));
        }
    }

    private async Task ResignQuietlyAsync(ElectionLeaderKey leader)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _client.Elections.ResignAsync(leader, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is KvStoreException or OperationCanceledException)
        {
            // Revoking the lease (when the campaign's lease is disposed) ends leadership as well.
        }
    }

    private void Publish(LeadershipChange change)
    {
        EventHandler<LeadershipChange>? handlers;
        lock (_gate)
        {
            _current = change;
            foreach (ChannelWriter<LeadershipChange> subscriber in _subscribers)
            {
                subscriber.TryWrite(change);
            }

            handlers = LeadershipChanged;
        }

        if (handlers is null)
        {
            return;
        }

        foreach (EventHandler<LeadershipChange> handler in handlers.GetInvocationList().Cast<EventHandler<LeadershipChange>>())
        {
            try
            {
                handler(this, change);
            }
            catch (Exception)
            {
                // A subscriber's bug must not stop the campaign loop (documented on the class).
            }
        }
    }
}
