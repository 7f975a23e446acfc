namespace KvStore.Client.Routing;

/// <summary>How a call may be retried, which decides whether it needs an exactly-once session.</summary>
internal enum CallKind
{
    /// <summary>A read: applying it twice changes nothing, so it is retried freely and carries no session.</summary>
    Read,

    /// <summary>
    /// A replicated write (put, delete, write txn, compact): it carries a session, so a retry of
    /// the same (client id, sequence) is applied once by the state machine and may be sent again
    /// after any failure.
    /// </summary>
    Write,

    /// <summary>
    /// A membership change: configuration changes are not deduplicated by sessions, so it is
    /// retried only when it provably did not reach a server (dial failures, not-leader, unavailable).
    /// </summary>
    Membership,
}
