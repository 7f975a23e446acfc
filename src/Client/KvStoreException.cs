namespace KvStore.Client;

/// <summary>Base of every exception the KvStore client raises for a failure of the service or the connection.</summary>
public abstract class KvStoreException : Exception
{
    protected KvStoreException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
