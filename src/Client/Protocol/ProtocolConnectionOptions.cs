namespace KvStore.Client.Protocol;

/// <summary>Settings of one <see cref="ProtocolConnection"/>.</summary>
public sealed record ProtocolConnectionOptions
{
    /// <summary>
    /// Client-side limits: <see cref="ProtocolLimits.MaxFrameBytes"/> bounds frames sent and received,
    /// <see cref="ProtocolLimits.MaxInFlightPerConnection"/> bounds concurrent requests (further
    /// calls wait for a slot). Key, value and transaction limits are the server's to enforce.
    /// </summary>
    public ProtocolLimits Limits { get; init; } = ProtocolLimits.Default;

    /// <summary>Session client id to present in Hello; 0 lets the server assign one.</summary>
    public ulong ClientId { get; init; }

    /// <summary>Free text the server logs for this connection.</summary>
    public string ClientName { get; init; } = "kvstore-client";

    /// <summary>
    /// How many push frames may wait unread in <see cref="ProtocolConnection.PushFrames"/>.
    /// When it is full the connection stops reading (and so stalls responses too) until the
    /// consumer catches up: push frames are never dropped.
    /// </summary>
    public int PushQueueCapacity { get; init; } = 1024;
}
