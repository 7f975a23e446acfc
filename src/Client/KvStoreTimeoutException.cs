namespace KvStore.Client;

/// <summary>
/// A call did not complete within its deadline (<see cref="KvStoreClientOptions.RequestTimeout"/>),
/// retries included. A write may or may not have been applied; its session makes a later retry
/// of the same call safe only within that call, so read the key to find out.
/// </summary>
public sealed class KvStoreTimeoutException : KvStoreException
{
    /// <summary>Creates the exception; <paramref name="innerException"/> is the last failure before the deadline, if any.</summary>
    public KvStoreTimeoutException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
