namespace KvStore.Client.Routing;

/// <summary>
/// One exactly-once session: a client id and its sequence counter. A lane carries at most one
/// write at a time, because the state machine answers a sequence lower than the last one it
/// applied with "stale sequence": two writes of one session in flight together could reach the
/// log out of order and the second would fail.
/// </summary>
internal sealed class SessionLane
{
    private ulong _lastSequence;

    public SessionLane(ulong clientId) => ClientId = clientId;

    /// <summary>The session's client id; 0 until the first lane takes the id the server assigned in the handshake.</summary>
    public ulong ClientId { get; set; }

    /// <summary>The sequence for the next new write (a retry keeps the one it was given).</summary>
    public ulong NextSequence() => ++_lastSequence;

    /// <summary>Starts a new session under a fresh id after the server reported the old one expired.</summary>
    public void Renew(ulong clientId)
    {
        ClientId = clientId;
        _lastSequence = 0;
    }
}
