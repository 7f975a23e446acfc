namespace KvStore.Raft.Core;

/// <summary>
/// The membership the leader tracks: incoming voters, outgoing voters (non-empty only in a joint
/// configuration), learners, and voters to demote to learners when the joint configuration is left.
/// Invariants: a learner is never a voter of either half; LearnersNext only ever holds outgoing voters.
/// </summary>
internal sealed class TrackerConfig
{
    public SortedSet<ulong> Voters { get; init; } = [];
    public SortedSet<ulong> VotersOutgoing { get; init; } = [];
    public SortedSet<ulong> Learners { get; init; } = [];
    public SortedSet<ulong> LearnersNext { get; init; } = [];
    public bool AutoLeave { get; set; }

    public bool IsJoint => VotersOutgoing.Count > 0;

    public SortedSet<ulong> AllVoters()
    {
        var all = new SortedSet<ulong>(Voters);
        all.UnionWith(VotersOutgoing);
        return all;
    }

    public TrackerConfig Clone() => new()
    {
        Voters = new SortedSet<ulong>(Voters),
        VotersOutgoing = new SortedSet<ulong>(VotersOutgoing),
        Learners = new SortedSet<ulong>(Learners),
        LearnersNext = new SortedSet<ulong>(LearnersNext),
        AutoLeave = AutoLeave,
    };

    public ConfState ToConfState() => new()
    {
        Voters = [.. Voters],
        VotersOutgoing = [.. VotersOutgoing],
        Learners = [.. Learners],
        LearnersNext = [.. LearnersNext],
        AutoLeave = AutoLeave,
    };

    public void CheckInvariants()
    {
        foreach (ulong id in Learners)
        {
            if (Voters.Contains(id) || VotersOutgoing.Contains(id))
            {
                throw new InvalidOperationException($"node {id} is both a learner and a voter");
            }
        }
        foreach (ulong id in LearnersNext)
        {
            if (!VotersOutgoing.Contains(id))
            {
                throw new InvalidOperationException($"node {id} is in LearnersNext but not an outgoing voter");
            }
        }
        if (!IsJoint && AutoLeave)
        {
            throw new InvalidOperationException("AutoLeave set outside a joint configuration");
        }
    }
}
