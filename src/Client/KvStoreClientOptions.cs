using KvStore.Client.Protocol;

namespace KvStore.Client;

/// <summary>Settings of a <see cref="KvStoreClient"/>.</summary>
/// <remarks>
/// Defaults and why: a 2 s dial timeout lets a dead endpoint be skipped well inside the 5 s
/// request deadline; backoff starts at 25 ms (about one Raft heartbeat round on loopback) and is
/// capped at 1 s (an election typically settles within one election timeout).
/// </remarks>
public sealed class KvStoreClientOptions
{
    /// <summary>The default endpoint when none is given: the embedded one-node server's client address.</summary>
    public const string DefaultEndpoint = "127.0.0.1:2379";

    /// <summary>
    /// Client endpoints of the cluster's members, "host:port" each (an "http://" prefix is
    /// ignored). The client tries them in turn until it finds the leader.
    /// </summary>
    public IList<string> Endpoints { get; set; } = new List<string> { DefaultEndpoint };

    /// <summary>How long one connection attempt (TCP connect and handshake) may take before the next endpoint is tried.</summary>
    public TimeSpan DialTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The deadline of one call, retries included. When it passes the call fails with
    /// <see cref="KvStoreTimeoutException"/>. <see cref="Timeout.InfiniteTimeSpan"/> waits for as long as
    /// the caller's token allows.
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long one attempt waits for an answer before the call tries the next member (within
    /// <see cref="RequestTimeout"/>): a leader cut off by a network partition keeps its TCP
    /// connections open but never answers, and only another member can. Safe to retry because
    /// writes carry their session; membership changes, which do not, wait for the full deadline.
    /// <see cref="Timeout.InfiniteTimeSpan"/> waits on one member for the whole deadline.
    /// </summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>First retry delay; each further retry doubles it up to <see cref="RetryBackoffMax"/>, with jitter.</summary>
    public TimeSpan RetryBackoffMin { get; set; } = TimeSpan.FromMilliseconds(25);

    /// <summary>Largest retry delay.</summary>
    public TimeSpan RetryBackoffMax { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Most non-idempotent requests (writes, transactions, compactions, membership changes) one client
    /// has in flight at once. Each runs in its own exactly-once session lane (see remarks of
    /// <see cref="KvStoreClient"/>); further writes wait for a lane.
    /// </summary>
    public int MaxConcurrentWrites { get; set; } = 256;

    /// <summary>Session client id of the first session lane; 0 lets the server assign one in the handshake.</summary>
    public ulong ClientId { get; set; }

    /// <summary>Free text the servers log for this client's connections.</summary>
    public string ClientName { get; set; } = "kvstore-dotnet";

    /// <summary>Client-side protocol limits (frame size, requests in flight per connection).</summary>
    public ProtocolLimits Limits { get; set; } = ProtocolLimits.Default;

    /// <summary>Throws <see cref="ArgumentException"/> if a setting is unusable.</summary>
    public void Validate()
    {
        if (Endpoints is null || Endpoints.Count == 0)
        {
            throw new ArgumentException("at least one endpoint is required", nameof(Endpoints));
        }

        foreach (var endpoint in Endpoints)
        {
            _ = Routing.EndpointAddress.Parse(endpoint);
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(DialTimeout, TimeSpan.Zero, nameof(DialTimeout));
        if (RequestTimeout != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RequestTimeout, TimeSpan.Zero, nameof(RequestTimeout));
        }

        if (AttemptTimeout != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(AttemptTimeout, TimeSpan.Zero, nameof(AttemptTimeout));
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RetryBackoffMin, TimeSpan.Zero, nameof(RetryBackoffMin));
        ArgumentOutOfRangeException.ThrowIfLessThan(RetryBackoffMax, RetryBackoffMin, nameof(RetryBackoffMax));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxConcurrentWrites);
        ArgumentNullException.ThrowIfNull(Limits);
        Limits.Validated();
    }
}
