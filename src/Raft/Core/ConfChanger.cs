namespace KvStore.Raft.Core;

/// <summary>
/// Computes the configuration and progress map that result from a membership change, without
/// touching the live tracker (etcd's confchange package, in our words). Joint consensus follows
/// dissertation §4.3: EnterJoint keeps the old voters as the outgoing half, LeaveJoint drops them.
/// Every method works on copies and throws <see cref="ArgumentException"/> for an invalid change.
/// </summary>
internal sealed class ConfChanger
{
    private readonly ProgressTracker _tracker;
    private readonly long _lastIndex;

    public ConfChanger(ProgressTracker tracker, long lastIndex)
    {
        _tracker = tracker;
        _lastIndex = lastIndex;
    }

    public (TrackerConfig, SortedDictionary<ulong, Progress>) Apply(ConfChange change)
    {
        if (change.IsLeaveJoint)
        {
            return LeaveJoint();
        }
        if (change.UseJoint || change.Changes.Count > 1)
        {
            return EnterJoint(change.AutoLeave, change.Changes);
        }
        return Simple(change.Changes);
    }

    public (TrackerConfig, SortedDictionary<ulong, Progress>) EnterJoint(bool autoLeave, IReadOnlyList<ConfChangeSingle> changes)
    {
        var (cfg, prs) = Copy();
        if (cfg.IsJoint)
        {
            throw new ArgumentException("configuration is already joint; leave it first");
        }
        if (cfg.Voters.Count == 0)
        {
            throw new ArgumentException("cannot make a zero-voter configuration joint");
        }
        cfg.VotersOutgoing.UnionWith(cfg.Voters);
        ApplyChanges(cfg, prs, changes);
        cfg.AutoLeave = autoLeave;
        return (cfg, prs);
    }

    public (TrackerConfig, SortedDictionary<ulong, Progress>) LeaveJoint()
    {
        var (cfg, prs) = Copy();
        if (!cfg.IsJoint)
        {
            throw new ArgumentException("cannot leave a joint configuration: the configuration is not joint");
        }
        foreach (ulong id in cfg.LearnersNext)
        {
            cfg.Learners.Add(id);
            prs[id].IsLearner = true;
        }
        cfg.LearnersNext.Clear();
        foreach (ulong id in cfg.VotersOutgoing)
        {
            if (!cfg.Voters.Contains(id) && !cfg.Learners.Contains(id))
            {
                prs.Remove(id);
            }
        }
        cfg.VotersOutgoing.Clear();
        cfg.AutoLeave = false;
        return (cfg, prs);
    }

    /// <summary>A change of at most one voter, applied directly: any two majorities of configurations differing by one voter overlap (§4.1).</summary>
    public (TrackerConfig, SortedDictionary<ulong, Progress>) Simple(IReadOnlyList<ConfChangeSingle> changes)
    {
        var (cfg, prs) = Copy();
        if (cfg.IsJoint)
        {
            throw new ArgumentException("cannot apply a simple configuration change in a joint configuration");
        }
        ApplyChanges(cfg, prs, changes);
        var before = new SortedSet<ulong>(_tracker.Config.Voters);
        before.SymmetricExceptWith(cfg.Voters);
        if (before.Count > 1)
        {
            throw new ArgumentException("more than one voter changed without entering a joint configuration");
        }
        return (cfg, prs);
    }

    /// <summary>Builds the tracker state described by a snapshot's or bootstrap's ConfState.</summary>
    public static (TrackerConfig, SortedDictionary<ulong, Progress>) Restore(ConfState cs, ProgressTracker tracker, long lastIndex)
    {
        var cfg = new TrackerConfig
        {
            Voters = [.. cs.Voters],
            VotersOutgoing = [.. cs.VotersOutgoing],
            Learners = [.. cs.Learners],
            LearnersNext = [.. cs.LearnersNext],
            AutoLeave = cs.AutoLeave && cs.VotersOutgoing.Count > 0,
        };
        var prs = new SortedDictionary<ulong, Progress>();
        foreach (ulong id in cfg.AllVoters())
        {
            prs[id] = NewProgress(tracker, lastIndex, isLearner: false);
        }
        foreach (ulong id in cfg.Learners)
        {
            prs[id] = NewProgress(tracker, lastIndex, isLearner: true);
        }
        foreach (ulong id in cfg.LearnersNext)
        {
            prs.TryAdd(id, NewProgress(tracker, lastIndex, isLearner: false));
        }
        cfg.CheckInvariants();
        return (cfg, prs);
    }

    private (TrackerConfig, SortedDictionary<ulong, Progress>) Copy()
    {
        var prs = new SortedDictionary<ulong, Progress>();
        foreach (var (id, pr) in _tracker.Progress)
        {
            prs[id] = pr.Clone();
        }
        return (_tracker.Config.Clone(), prs);
    }

    private void ApplyChanges(TrackerConfig cfg, SortedDictionary<ulong, Progress> prs, IReadOnlyList<ConfChangeSingle> changes)
    {
        foreach (var cc in changes)
        {
            if (cc.NodeId == 0)
            {
                throw new ArgumentException("a configuration change names node 0, which is not a valid id");
            }
            switch (cc.Type)
            {
                case ConfChangeType.AddVoter:
                    MakeVoter(cfg, prs, cc.NodeId);
                    break;
                case ConfChangeType.AddLearner:
                    MakeLearner(cfg, prs, cc.NodeId);
                    break;
                case ConfChangeType.RemoveNode:
                    Remove(cfg, prs, cc.NodeId);
                    break;
                default:
                    throw new ArgumentException($"unknown configuration change type {cc.Type}");
            }
        }
        if (cfg.Voters.Count == 0)
        {
            throw new ArgumentException("the change removes all voters");
        }
        cfg.CheckInvariants();
    }

    private void MakeVoter(TrackerConfig cfg, SortedDictionary<ulong, Progress> prs, ulong id)
    {
        if (!prs.TryGetValue(id, out var pr))
        {
            prs[id] = NewProgress(_tracker, _lastIndex, isLearner: false);
            cfg.Voters.Add(id);
            return;
        }
        pr.IsLearner = false;
        cfg.Learners.Remove(id);
        cfg.LearnersNext.Remove(id);
        cfg.Voters.Add(id);
    }

    private void MakeLearner(TrackerConfig cfg, SortedDictionary<ulong, Progress> prs, ulong id)
    {
        if (!prs.TryGetValue(id, out var pr))
        {
            prs[id] = NewProgress(_tracker, _lastIndex, isLearner: true);
            cfg.Learners.Add(id);
            return;
        }
        if (pr.IsLearner)
        {
            return;
        }
        Remove(cfg, prs, id);
        prs[id] = pr;
        // An outgoing voter keeps voting until the joint configuration is left; only then does it become a learner.
        if (cfg.VotersOutgoing.Contains(id))
        {
            cfg.LearnersNext.Add(id);
        }
        else
        {
            pr.IsLearner = true;
            cfg.Learners.Add(id);
        }
    }

    private static void Remove(TrackerConfig cfg, SortedDictionary<ulong, Progress> prs, ulong id)
    {
        if (!prs.ContainsKey(id))
        {
            return;
        }
        cfg.Voters.Remove(id);
        cfg.Learners.Remove(id);
        cfg.LearnersNext.Remove(id);
        if (!cfg.VotersOutgoing.Contains(id))
        {
            prs.Remove(id);
        }
    }

    private static Progress NewProgress(ProgressTracker tracker, long lastIndex, bool isLearner) =>
        // RecentActive so that CheckQuorum does not depose the leader right after adding a node.
        new(0, lastIndex + 1, tracker.NewInflights(), isLearner) { RecentActive = true };
}
