namespace KvStore.Client.Routing;

/// <summary>One attempt of a call got no answer within <see cref="KvStoreClientOptions.AttemptTimeout"/>; the call goes on with another member.</summary>
internal sealed class AttemptTimedOutException : KvStoreException
{
    public AttemptTimedOutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
