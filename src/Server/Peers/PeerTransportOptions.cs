using System.Net;

namespace KvStore.Server.Peers;

/// <summary>Settings of a <see cref="TcpPeerTransport"/>; each default is chosen for a LAN cluster.</summary>
public sealed record PeerTransportOptions
{
    /// <summary>This node's id; never 0.</summary>
    public required ulong NodeId { get; init; }

    /// <summary>Connections whose handshake names another cluster are refused.</summary>
    public required ulong ClusterId { get; init; }

    /// <summary>This node's client URL (HOST:PORT), announced in the handshake; may be empty.</summary>
    public string ClientUrl { get; init; } = string.Empty;

    /// <summary>Where peers connect to this node; port 0 picks a free port.</summary>
    public IPEndPoint ListenEndPoint { get; init; } = new(IPAddress.Loopback, 0);

    /// <summary>
    /// Messages queued for one peer beyond which the OLDEST are dropped (and counted): Raft
    /// retransmits, and the newest messages carry the freshest term, commit and log position.
    /// </summary>
    public int MaxQueuedMessagesPerPeer { get; init; } = 8192;

    /// <summary>Largest frame accepted from a peer. Large because a snapshot chunk travels in one message.</summary>
    public int MaxFrameBytes { get; init; } = 256 << 20;

    /// <summary>First reconnect delay; doubled after each failure up to <see cref="MaxReconnectDelay"/>, with ±50% jitter.</summary>
    public TimeSpan MinReconnectDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>A connect or handshake that takes longer than this fails (and is retried).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(3);
}
