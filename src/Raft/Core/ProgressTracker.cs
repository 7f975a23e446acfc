namespace KvStore.Raft.Core;

/// <summary>
/// The leader's view of the group: the configuration, one <see cref="Progress"/> per member, and the
/// votes of the current election. Iteration is always in ascending id order so output is deterministic.
/// Invariant: every member of the configuration (voters of both halves, learners) has a Progress and nothing else does.
/// </summary>
internal sealed class ProgressTracker
{
    public ProgressTracker(int maxInflight, long maxInflightBytes)
    {
        MaxInflight = maxInflight;
        MaxInflightBytes = maxInflightBytes;
    }

    public int MaxInflight { get; }
    public long MaxInflightBytes { get; }

    public TrackerConfig Config { get; private set; } = new();
    public SortedDictionary<ulong, Progress> Progress { get; private set; } = [];
    public Dictionary<ulong, bool> Votes { get; } = [];

    public void Switch(TrackerConfig config, SortedDictionary<ulong, Progress> progress)
    {
        config.CheckInvariants();
        var members = config.AllVoters();
        members.UnionWith(config.Learners);
        members.UnionWith(config.LearnersNext);
        if (!members.SetEquals(progress.Keys))
        {
            throw new InvalidOperationException(
                $"progress map [{string.Join(",", progress.Keys)}] does not match configuration members [{string.Join(",", members)}]");
        }
        Config = config;
        Progress = progress;
    }

    public Inflights NewInflights() => new(MaxInflight, MaxInflightBytes);

    public bool IsVoter(ulong id) => Config.Voters.Contains(id) || Config.VotersOutgoing.Contains(id);

    /// <summary>Only this node votes: it decides alone.</summary>
    public bool IsSingleton(ulong self) => Config.Voters.Count == 1 && Config.Voters.Contains(self) && !Config.IsJoint;

    /// <summary>The largest index a quorum (joint quorum when joint) has replicated. Learners never count.</summary>
    public long Committed() =>
        Quorum.JointCommittedIndex(Config.Voters, Config.VotersOutgoing, id => Progress.TryGetValue(id, out var pr) ? pr.Match : 0);

    public VoteResult VoteResultOf(Func<ulong, bool?> vote) => Quorum.JointResult(Config.Voters, Config.VotersOutgoing, vote);

    public void ResetVotes() => Votes.Clear();

    public void RecordVote(ulong id, bool granted) => Votes.TryAdd(id, granted);

    public (int Granted, int Rejected, VoteResult Result) TallyVotes()
    {
        int granted = 0, rejected = 0;
        foreach (var (id, v) in Votes)
        {
            if (!IsVoter(id))
            {
                continue;
            }
            if (v)
            {
                granted++;
            }
            else
            {
                rejected++;
            }
        }
        return (granted, rejected, VoteResultOf(id => Votes.TryGetValue(id, out bool v) ? v : null));
    }

    /// <summary>CheckQuorum: did a quorum (counting the leader itself) talk to us during the last election timeout?</summary>
    public bool QuorumActive(ulong self) =>
        VoteResultOf(id => Progress.TryGetValue(id, out var pr) ? (id == self || pr.RecentActive) : null) == VoteResult.Won;
}
