namespace KvStore.Client;

/// <summary>
/// The connection to a server failed or closed. Requests pending on it fail with this exception;
/// a request may or may not have been applied (sessions make a retry safe).
/// </summary>
public sealed class KvStoreConnectionException : KvStoreException
{
    public KvStoreConnectionException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
