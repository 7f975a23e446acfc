using Wire = KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>
/// A transaction being written: <c>If(conditions).Then(ops).Else(ops)</c>, then
/// <see cref="CommitAsync"/>. All conditions must hold for Then to run (a conjunction); the
/// whole transaction is applied atomically at one revision.
/// </summary>
/// <example>
/// <code>
/// var result = await client.TxnAsync()
///     .If(Cmp.Value("lock") == "free", Cmp.Version("config") == 3)
///     .Then(Op.Put("lock", "mine"), Op.Get("config"))
///     .Else(Op.Get("lock"))
///     .CommitAsync(ct);
/// </code>
/// </example>
public sealed class TxnBuilder
{
    private readonly Func<Wire.TxnRequest, CancellationToken, Task<TxnResult>> _commit;
    private readonly List<TxnCondition> _conditions = [];
    private readonly List<TxnOp> _then = [];
    private readonly List<TxnOp> _else = [];

    internal TxnBuilder(Func<Wire.TxnRequest, CancellationToken, Task<TxnResult>> commit) => _commit = commit;

    /// <summary>Adds conditions (all must hold).</summary>
    public TxnBuilder If(params TxnCondition[] conditions)
    {
        ArgumentNullException.ThrowIfNull(conditions);
        _conditions.AddRange(conditions);
        return this;
    }

    /// <summary>Adds operations to run when every condition holds.</summary>
    public TxnBuilder Then(params TxnOp[] operations)
    {
        ArgumentNullException.ThrowIfNull(operations);
        _then.AddRange(operations);
        return this;
    }

    /// <summary>Adds operations to run when a condition does not hold.</summary>
    public TxnBuilder Else(params TxnOp[] operations)
    {
        ArgumentNullException.ThrowIfNull(operations);
        _else.AddRange(operations);
        return this;
    }

    /// <summary>True when a branch holds a put or a delete.</summary>
    public bool IsWrite => _then.Any(op => op.IsWrite) || _else.Any(op => op.IsWrite);

    /// <summary>The wire request this builder describes (without a session).</summary>
    public Wire.TxnRequest ToRequest()
    {
        var request = new Wire.TxnRequest();
        request.Compare.AddRange(_conditions.Select(c => c.ToMessage()));
        request.Success.AddRange(_then.Select(op => op.ToMessage()));
        request.Failure.AddRange(_else.Select(op => op.ToMessage()));
        return request;
    }

    /// <summary>Sends the transaction. A transaction with writes runs in an exactly-once session, so its retries apply it once.</summary>
    /// <exception cref="KvStoreProtocolException">The server refused it (e.g. too many operations, a compacted read revision).</exception>
    /// <exception cref="KvStoreTimeoutException">It did not complete within the deadline.</exception>
    public Task<TxnResult> CommitAsync(CancellationToken cancellationToken = default) => _commit(ToRequest(), cancellationToken);
}
