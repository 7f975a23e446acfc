namespace KvStore.Raft.Core;

/// <summary>Why a proposal (or conf change, read, transfer request) was refused locally.</summary>
public enum DropReason
{
    /// <summary>No leader is known (an election is in progress or the node is cut off).</summary>
    NoLeader,
    /// <summary>This follower is configured not to forward proposals to the leader.</summary>
    ForwardingDisabled,
    /// <summary>The leader holds more uncommitted payload than <see cref="RaftConfig.MaxUncommittedEntriesSize"/>.</summary>
    UncommittedSizeExceeded,
    /// <summary>The leader is handing leadership over (§3.10) and accepts no proposals meanwhile.</summary>
    LeadershipTransferInProgress,
    /// <summary>An earlier membership change is not yet applied, or the joint configuration must be left first.</summary>
    ConfChangePending,
    /// <summary>This node is not (or no longer) a member that may lead or propose.</summary>
    NotAVoter,
}

/// <summary>A proposal the Raft node refused; the caller may retry elsewhere (<see cref="LeaderHint"/>) or later.</summary>
public sealed class ProposalDroppedException : Exception
{
    public ProposalDroppedException(DropReason reason, ulong leaderHint)
        : base($"proposal dropped: {reason}" + (leaderHint != 0 ? $" (leader is {leaderHint})" : ""))
    {
        Reason = reason;
        LeaderHint = leaderHint;
    }

    public DropReason Reason { get; }

    /// <summary>The leader this node knows of, or 0 when unknown.</summary>
    public ulong LeaderHint { get; }
}
