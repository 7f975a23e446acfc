using KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>
/// A watch needs revisions that compaction has removed: it started, or (resuming after a failure)
/// would have had to resume, below <see cref="CompactRevision"/>. Read the current state and
/// watch again from its revision + 1.
/// </summary>
public sealed class WatchCompactedException : KvStoreProtocolException
{
    /// <summary>Creates the exception.</summary>
    public WatchCompactedException(long compactRevision, string message)
        : base(ErrorCode.Compacted, message)
    {
        CompactRevision = compactRevision;
    }

    /// <summary>The compacted revision: the oldest revision a watch may start from.</summary>
    public long CompactRevision { get; }
}
