using KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>The server ended a watch for a reason other than compaction (e.g. a revision too large for one frame); the message says why.</summary>
public sealed class WatchCanceledException : KvStoreProtocolException
{
    /// <summary>Creates the exception.</summary>
    public WatchCanceledException(string message)
        : base(ErrorCode.Unavailable, message)
    {
    }
}
