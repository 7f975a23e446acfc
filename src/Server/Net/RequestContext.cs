namespace KvStore.Server.Net;

/// <summary>Where a request came from: its connection (for push frames and the session client id) and its request id.</summary>
public readonly record struct RequestContext(ClientConnection Connection, ulong RequestId)
{
    /// <summary>The session client id established in the connection's handshake.</summary>
    public ulong ClientId => Connection.ClientId;
}
