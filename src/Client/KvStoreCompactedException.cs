using KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>
/// A read asked for a revision whose history has been compacted away (<see cref="ErrorCode.Compacted"/>).
/// Read at a newer revision, or at the newest (revision 0).
/// </summary>
public sealed class KvStoreCompactedException : KvStoreProtocolException
{
    /// <summary>Creates the exception for the server's message.</summary>
    public KvStoreCompactedException(string message)
        : base(ErrorCode.Compacted, message)
    {
    }
}
