using System.Net;
using KvStore.Client.Protocol;

namespace KvStore.Server.Net;

/// <summary>Settings of a <see cref="ClientListener"/>.</summary>
public sealed record ClientListenerOptions
{
    /// <summary>Address to listen on; port 0 picks a free port (see <see cref="ClientListener.LocalEndPoint"/>).</summary>
    public IPEndPoint EndPoint { get; init; } = new(IPAddress.Loopback, 0);

    /// <summary>Limits enforced on every connection and advertised in the handshake.</summary>
    public ProtocolLimits Limits { get; init; } = ProtocolLimits.Default;

    /// <summary>
    /// Push frames one connection may have queued but not yet written; a further
    /// <see cref="ClientConnection.SendPushAsync"/> waits, so a slow client slows its pushers
    /// instead of growing the server's memory.
    /// </summary>
    public int MaxQueuedPushFramesPerConnection { get; init; } = 1024;

    /// <summary>
    /// How long a closing connection waits for its in-flight requests to be answered and the
    /// answers to be written before it is cut.
    /// </summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Listen backlog of the socket.</summary>
    public int Backlog { get; init; } = 512;

    /// <summary>Reported in the handshake's response header.</summary>
    public ulong ClusterId { get; init; }

    /// <summary>Reported in the handshake's response header.</summary>
    public ulong MemberId { get; init; }

    /// <summary>Reported in the handshake.</summary>
    public string ServerVersion { get; init; } = typeof(ClientListenerOptions).Assembly.GetName().Version?.ToString() ?? "0";
}
