using KvStore.Raft.Core;

namespace KvStore.Raft.Host;

/// <summary>
/// The replicated state of one Raft group. The host calls it from its single loop thread
/// only, in log order; it never sees an entry twice except after <see cref="Restore"/>.
/// </summary>
public interface IStateMachine
{
    /// <summary>Index of the last entry applied (or restored from a snapshot).</summary>
    long AppliedIndex { get; }

    /// <summary>
    /// Applies committed entries, consecutive and in index order. Normal entries carry the
    /// proposer's command (the host's proposal header already removed; empty data is a leader's
    /// no-op). ConfChange entries are passed so <see cref="AppliedIndex"/> advances over them;
    /// the host applies the membership change itself.
    /// Returns one result per Normal entry, in order; the result completes the proposal's task.
    /// </summary>
    IReadOnlyList<object?> Apply(IReadOnlyList<Entry> entries);

    /// <summary>Serializes the state as of <see cref="AppliedIndex"/>.</summary>
    ReadOnlyMemory<byte> TakeSnapshot();

    /// <summary>
    /// Captures the state as of <see cref="AppliedIndex"/> (called on the host's loop thread) and returns a
    /// function that serializes what was captured. The host runs that function on another thread while it
    /// keeps applying entries, so a state machine that can pin a consistent view cheaply (an LSM snapshot)
    /// keeps snapshot building off the Raft loop. The function is called exactly once. The default
    /// serializes at once with <see cref="TakeSnapshot"/>.
    /// </summary>
    Func<ReadOnlyMemory<byte>> CaptureSnapshot()
    {
        ReadOnlyMemory<byte> data = TakeSnapshot();
        return () => data;
    }

    /// <summary>Replaces the whole state with a snapshot's; afterwards AppliedIndex = snapshot.Metadata.Index.</summary>
    void Restore(Snapshot snapshot);
}
