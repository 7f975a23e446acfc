using System.Globalization;
using System.Text;
using Google.Protobuf;
using KvStore.Client.Routing;
using Wire = KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>
/// Distributed locks with fencing tokens (<c>client.Locks</c>). A lock is bound to a lease: it is
/// released when the handle is disposed, or when the lease ends (revoked, or expired because its
/// holder stopped renewing it). Waiters are served first come, first served.
/// </summary>
/// <example>
/// <code>
/// await using LockHandle held = await client.Locks.AcquireLockAsync("jobs/nightly", lease);
/// TxnResult r = await client.Txn().If(held.Fence).Then(Op.Put("jobs/nightly/state", "running")).CommitAsync();
/// // r.Succeeded is false if the lock was lost in between: the store refused the stale write.
/// </code>
/// </example>
public sealed class KvStoreLocks
{
    private readonly RequestInvoker _invoker;
    private readonly KvStoreClientOptions _options;

    internal KvStoreLocks(RequestInvoker invoker, KvStoreClientOptions options)
    {
        _invoker = invoker;
        _options = options;
    }

    /// <summary>Waits for lock <paramref name="name"/> (UTF-8) and returns the held lock.</summary>
    /// <param name="name">The lock's name.</param>
    /// <param name="lease">A live lease the lock is bound to (keep it alive while holding the lock).</param>
    /// <param name="timeout">How long to wait; null waits as long as the lease lives.</param>
    /// <param name="options">Lock-delay and other options.</param>
    /// <param name="cancellationToken">Cancels the wait (the place in the queue is given up).</param>
    /// <exception cref="KvStoreTimeoutException">The lock was not acquired within <paramref name="timeout"/>.</exception>
    /// <exception cref="KvStoreProtocolException">LEASE_NOT_FOUND: the lease does not exist or ended while waiting.</exception>
    public Task<LockHandle> AcquireLockAsync(string name, long lease, TimeSpan? timeout = null, LockOptions? options = null, CancellationToken cancellationToken = default) =>
        AcquireLockAsync(Utf8(name), lease, timeout, options, cancellationToken);

    /// <summary>Waits for lock <paramref name="name"/> and returns the held lock.</summary>
    /// <inheritdoc cref="AcquireLockAsync(string, long, TimeSpan?, LockOptions?, CancellationToken)"/>
    public async Task<LockHandle> AcquireLockAsync(ReadOnlyMemory<byte> name, long lease, TimeSpan? timeout = null, LockOptions? options = null, CancellationToken cancellationToken = default)
    {
        CheckName(name);
        if (lease == 0)
        {
            throw new ArgumentException("a lock is bound to a lease; grant one first", nameof(lease));
        }

        if (timeout is { } t && t <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "the timeout must be positive (null waits as long as the lease lives)");
        }

        var request = new Wire.LockRequest
        {
            Name = ByteString.CopyFrom(name.Span),
            Lease = lease,
            TimeoutMs = timeout is { } wait ? Math.Max(1, (long)wait.TotalMilliseconds) : 0,
            LockDelayMs = (long)(options?.LockDelay ?? TimeSpan.Zero).TotalMilliseconds,
        };
        Wire.LockResponse response;
        try
        {
            response = await _invoker.InvokeAsync<Wire.LockResponse>(request, CallKind.Write, null, cancellationToken, waitTimeout: WaitBudget(timeout)).ConfigureAwait(false);
        }
        catch (KvStoreProtocolException ex) when (ex.Code == Wire.ErrorCode.Timeout)
        {
            throw new KvStoreTimeoutException($"lock {Describe(name)} was not acquired within {timeout?.TotalMilliseconds:0} ms", ex);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The waiter key may have been queued: give the place up so the lock does not wait for a client that left.
            await UnlockQuietlyAsync(WaiterKey(name.Span, lease)).ConfigureAwait(false);
            throw;
        }

        return new LockHandle(name.ToArray(), response.Key.ToByteArray(), response.FencingToken, lease, CancellationToken.None, (h, ct) => UnlockAsync(h.KeyBytes, ct));
    }

    /// <summary>
    /// Grants a lease of <paramref name="ttl"/> for this lock, keeps it alive while the handle is
    /// held, waits for lock <paramref name="name"/> (UTF-8) and returns the held lock. Disposing
    /// the handle releases the lock and revokes the lease; if the process stops renewing (it
    /// dies or is paused past the TTL), the lock is released by the lease's expiry.
    /// </summary>
    /// <param name="name">The lock's name.</param>
    /// <param name="ttl">The lease TTL (at least the cluster's minimum, a few seconds).</param>
    /// <param name="timeout">How long to wait; null waits until granted.</param>
    /// <param name="options">Lock-delay and other options.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public Task<LockHandle> AcquireLockAsync(string name, TimeSpan ttl, TimeSpan? timeout = null, LockOptions? options = null, CancellationToken cancellationToken = default) =>
        AcquireLockAsync(Utf8(name), ttl, timeout, options, cancellationToken);

    /// <inheritdoc cref="AcquireLockAsync(string, TimeSpan, TimeSpan?, LockOptions?, CancellationToken)"/>
    public async Task<LockHandle> AcquireLockAsync(ReadOnlyMemory<byte> name, TimeSpan ttl, TimeSpan? timeout = null, LockOptions? options = null, CancellationToken cancellationToken = default)
    {
        CheckName(name);
        OwnedLease lease = await OwnedLease.GrantAsync(_invoker, ttl, cancellationToken).ConfigureAwait(false);
        LockHandle held;
        try
        {
            held = await AcquireLockAsync(name, lease.Id, timeout, options, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await lease.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return new LockHandle(held.NameBytes, held.KeyBytes, held.FencingToken, lease.Id, lease.Lost, async (h, ct) =>
        {
            try
            {
                await UnlockAsync(h.KeyBytes, ct).ConfigureAwait(false);
            }
            finally
            {
                await lease.DisposeAsync().ConfigureAwait(false);
            }
        });
    }

    /// <summary>Releases a lock (or a place in its queue) by its holder key; succeeds if the key is already gone.</summary>
    public async Task UnlockAsync(ReadOnlyMemory<byte> key, CancellationToken cancellationToken = default)
    {
        await _invoker.InvokeAsync<Wire.UnlockResponse>(new Wire.UnlockRequest { Key = ByteString.CopyFrom(key.Span) }, CallKind.Write, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether lock <paramref name="name"/> is held with <paramref name="fencingToken"/> right now
    /// (linearizable; Chubby's CheckSequencer) — for services that receive a token with a request.
    /// </summary>
    public Task<FencingTokenStatus> ValidateFencingTokenAsync(string name, long fencingToken, CancellationToken cancellationToken = default) =>
        ValidateFencingTokenAsync(Utf8(name), fencingToken, cancellationToken);

    /// <inheritdoc cref="ValidateFencingTokenAsync(string, long, CancellationToken)"/>
    public async Task<FencingTokenStatus> ValidateFencingTokenAsync(ReadOnlyMemory<byte> name, long fencingToken, CancellationToken cancellationToken = default)
    {
        CheckName(name);
        var response = await _invoker.InvokeAsync<Wire.ValidateFencingTokenResponse>(
            new Wire.ValidateFencingTokenRequest { Name = ByteString.CopyFrom(name.Span), FencingToken = fencingToken }, CallKind.Read, null, cancellationToken).ConfigureAwait(false);
        return new FencingTokenStatus(response.Valid, response.CurrentToken, response.Header?.Revision ?? 0);
    }

    /// <summary>The waiter key a lease's acquisition of <paramref name="name"/> uses: NAME/&lt;lease as 16 lowercase hex digits&gt;.</summary>
    public static byte[] WaiterKey(ReadOnlySpan<byte> name, long lease)
    {
        byte[] suffix = Encoding.ASCII.GetBytes("/" + ((ulong)lease).ToString("x16", CultureInfo.InvariantCulture));
        var key = new byte[name.Length + suffix.Length];
        name.CopyTo(key);
        suffix.CopyTo(key.AsSpan(name.Length));
        return key;
    }

    /// <summary>The client-side budget of a held call: the server's wait plus one ordinary request timeout for the rest.</summary>
    internal TimeSpan WaitBudget(TimeSpan? serverWait) =>
        serverWait is { } wait && _options.RequestTimeout != Timeout.InfiniteTimeSpan ? wait + _options.RequestTimeout : Timeout.InfiniteTimeSpan;

    private async Task UnlockQuietlyAsync(byte[] key)
    {
        try
        {
            using var timeout = new CancellationTokenSource(_options.RequestTimeout == Timeout.InfiniteTimeSpan ? TimeSpan.FromSeconds(5) : _options.RequestTimeout);
            await UnlockAsync(key, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is KvStoreException or OperationCanceledException)
        {
            // Best effort: the lease bounds how long an abandoned waiter key can stay.
        }
    }

    internal static void CheckName(ReadOnlyMemory<byte> name)
    {
        if (name.IsEmpty)
        {
            throw new ArgumentException("the lock name is empty", nameof(name));
        }
    }

    internal static string Describe(ReadOnlyMemory<byte> name) => Encoding.UTF8.GetString(name.Span);

    internal static byte[] Utf8(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Encoding.UTF8.GetBytes(text);
    }
}
