using KvStore.Client.Protocol.Messages;

namespace KvStore.Client.Protocol;

/// <summary>
/// Hard limits of the native protocol. The server enforces them and advertises them in
/// <c>HelloResponse.limits</c>; exceeding one yields an error naming the limit and the actual size.
/// </summary>
/// <remarks>
/// Defaults and why:
/// <list type="bullet">
/// <item><see cref="MaxFrameBytes"/> 4 MiB: one max-size value (1 MiB) plus a full transaction of
/// keys fits, while a single connection cannot make the server buffer more than this per frame.</item>
/// <item><see cref="MaxKeyBytes"/> 8 KiB: keys are compared and stored in every index block and
/// Bloom filter; long keys belong in values.</item>
/// <item><see cref="MaxValueBytes"/> 1 MiB: every value passes through the Raft log and all
/// replicas; etcd's default request size is 1.5 MiB, we keep a round, smaller bound.</item>
/// <item><see cref="MaxOpsPerTxn"/> 128: etcd's default (--max-txn-ops); one transaction is one
/// Raft entry and must stay small.</item>
/// <item><see cref="MaxInFlightPerConnection"/> 1024: bounds the memory one connection can pin
/// in the server with pipelined requests.</item>
/// </list>
/// </remarks>
public sealed record ProtocolLimits
{
    public const string MaxFrameBytesName = nameof(MaxFrameBytes);
    public const string MaxKeyBytesName = nameof(MaxKeyBytes);
    public const string MaxValueBytesName = nameof(MaxValueBytes);
    public const string MaxOpsPerTxnName = nameof(MaxOpsPerTxn);
    public const string MaxInFlightPerConnectionName = nameof(MaxInFlightPerConnection);

    /// <summary>The defaults described in the remarks.</summary>
    public static ProtocolLimits Default { get; } = new();

    /// <summary>Largest accepted frame payload (header not included), in bytes.</summary>
    public int MaxFrameBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Largest key (and range end) in bytes.</summary>
    public int MaxKeyBytes { get; init; } = 8 * 1024;

    /// <summary>Largest value in bytes.</summary>
    public int MaxValueBytes { get; init; } = 1024 * 1024;

    /// <summary>Most compares, and most operations in each of success and failure, of one transaction.</summary>
    public int MaxOpsPerTxn { get; init; } = 128;

    /// <summary>Most requests one connection may have in flight (sent, not yet answered).</summary>
    public int MaxInFlightPerConnection { get; init; } = 1024;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> if a limit is not positive.</summary>
    public ProtocolLimits Validated()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxFrameBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxKeyBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxValueBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxOpsPerTxn);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxInFlightPerConnection);
        return this;
    }

    /// <summary>The limits as advertised in <c>HelloResponse</c>.</summary>
    public ServerLimits ToMessage() => new()
    {
        MaxFrameBytes = (uint)MaxFrameBytes,
        MaxKeyBytes = (uint)MaxKeyBytes,
        MaxValueBytes = (uint)MaxValueBytes,
        MaxOpsPerTxn = (uint)MaxOpsPerTxn,
        MaxInFlightPerConnection = (uint)MaxInFlightPerConnection,
    };

    /// <summary>Limits read from a server's <c>HelloResponse</c>.</summary>
    public static ProtocolLimits FromMessage(ServerLimits limits) => new()
    {
        MaxFrameBytes = (int)Math.Min(limits.MaxFrameBytes, int.MaxValue),
        MaxKeyBytes = (int)Math.Min(limits.MaxKeyBytes, int.MaxValue),
        MaxValueBytes = (int)Math.Min(limits.MaxValueBytes, int.MaxValue),
        MaxOpsPerTxn = (int)Math.Min(limits.MaxOpsPerTxn, int.MaxValue),
        MaxInFlightPerConnection = (int)Math.Min(limits.MaxInFlightPerConnection, int.MaxValue),
    };
}
