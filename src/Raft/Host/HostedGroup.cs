using KvStore.Raft.Core;

namespace KvStore.Raft.Host;

/// <summary>One group's replica inside a <see cref="RaftHost"/>. Touched only by the host's loop thread.</summary>
internal sealed class HostedGroup
{
    public HostedGroup(ulong id, RaftNode node, LogStoreRaftStorage storage, IStateMachine stateMachine, long applied)
    {
        Id = id;
        Node = node;
        Storage = storage;
        StateMachine = stateMachine;
        ConfState = node.ConfState;
        Applied = applied;
        SnapshotIndex = applied;
    }

    public ulong Id { get; }

    public RaftNode Node { get; }

    public LogStoreRaftStorage Storage { get; }

    public IStateMachine StateMachine { get; }

    /// <summary>Membership as of <see cref="Applied"/> (what a local snapshot must record).</summary>
    public ConfState ConfState { get; set; }

    /// <summary>Index of the last entry applied to <see cref="StateMachine"/>.</summary>
    public long Applied { get; set; }

    /// <summary>Index of the latest snapshot (local or installed).</summary>
    public long SnapshotIndex { get; set; }

    /// <summary>A local snapshot being serialized off the loop thread, or null; at most one per group.</summary>
    public Task? SnapshotBuild { get; set; }

    /// <summary>Set when an applied membership change added a member: the next snapshot must not wait.</summary>
    public bool MemberAdded { get; set; }

    /// <summary>Reads whose index is confirmed but not yet applied, in arrival order.</summary>
    public List<PendingRead> WaitingReads { get; } = [];

    /// <summary>Set while this group is in the loop's dirty set, so it is added once.</summary>
    public bool Dirty { get; set; }
}

/// <summary>A proposal waiting for its entry to be applied.</summary>
internal sealed class PendingProposal(ulong group, TaskCompletionSource<object?> completion, long deadline)
{
    public ulong Group { get; } = group;

    public TaskCompletionSource<object?> Completion { get; } = completion;

    /// <summary>Environment.TickCount64 after which it fails with a timeout.</summary>
    public long Deadline { get; } = deadline;
}

/// <summary>A ReadIndex request waiting to be confirmed (Index &lt; 0) or applied.</summary>
internal sealed class PendingRead(ulong group, ulong id, TaskCompletionSource<long> completion, long deadline)
{
    public ulong Group { get; } = group;

    public ulong Id { get; } = id;

    public TaskCompletionSource<long> Completion { get; } = completion;

    public long Deadline { get; } = deadline;

    public long Index { get; set; } = -1;
}
