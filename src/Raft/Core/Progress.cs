namespace KvStore.Raft.Core;

/// <summary>How the leader is currently replicating to one follower.</summary>
public enum ProgressState : byte
{
    /// <summary>The leader does not know where the follower's log ends: one Append per heartbeat until it learns.</summary>
    Probe = 0,
    /// <summary>The follower is in step: Appends are pipelined up to the inflight window.</summary>
    Replicate = 1,
    /// <summary>The follower needs entries that were compacted: a snapshot is in flight, Appends pause.</summary>
    Snapshot = 2,
}

/// <summary>One follower as the leader sees it (etcd's tracker/progress.go, in our words).</summary>
internal sealed class Progress
{
    private long _match;
    private long _next;

    public Progress(long match, long next, Inflights inflights, bool isLearner)
    {
        Inflights = inflights;
        IsLearner = isLearner;
        SetMatchNext(match, next);
    }

    /// <summary>Highest index known replicated on the follower. Invariant: 0 &lt;= Match &lt; Next.</summary>
    public long Match => _match;

    /// <summary>Next index to send. Invariant: 0 &lt;= Match &lt; Next.</summary>
    public long Next => _next;

    public ProgressState State { get; private set; } = ProgressState.Probe;

    /// <summary>In Snapshot state: the index of the snapshot being sent.</summary>
    public long PendingSnapshot { get; private set; }

    /// <summary>Whether the follower was heard from since the last CheckQuorum round.</summary>
    public bool RecentActive { get; set; }

    /// <summary>In Probe state: an Append is out, wait for its answer (or a heartbeat answer) before the next.</summary>
    public bool MsgAppFlowPaused { get; set; }

    public Inflights Inflights { get; }

    /// <summary>In Snapshot state: leader ticks since the snapshot was sent (a lost snapshot is retried after a timeout).</summary>
    public int SnapshotTicks { get; set; }

    public bool IsLearner { get; set; }

    private void SetMatchNext(long match, long next)
    {
        if (match < 0 || match >= next)
        {
            throw new InvalidOperationException($"progress invariant 0 <= Match < Next violated: Match={match} Next={next}");
        }
        _match = match;
        _next = next;
    }

    private void ResetState(ProgressState state)
    {
        MsgAppFlowPaused = false;
        PendingSnapshot = 0;
        SnapshotTicks = 0;
        State = state;
        Inflights.Reset();
    }

    /// <summary>Restart probing after the last known match (or after the snapshot just sent).</summary>
    public void BecomeProbe()
    {
        if (State == ProgressState.Snapshot)
        {
            long pending = PendingSnapshot;
            ResetState(ProgressState.Probe);
            SetMatchNext(_match, Math.Max(_match + 1, pending + 1));
        }
        else
        {
            ResetState(ProgressState.Probe);
            SetMatchNext(_match, _match + 1);
        }
    }

    /// <summary>The snapshot did not arrive: probe from the last known match; the next attempt starts a fresh snapshot.</summary>
    public void SnapshotFailed()
    {
        PendingSnapshot = 0;
        BecomeProbe();
    }

    public void BecomeReplicate()
    {
        ResetState(ProgressState.Replicate);
        SetMatchNext(_match, _match + 1);
    }

    public void BecomeSnapshot(long snapshotIndex)
    {
        ResetState(ProgressState.Snapshot);
        PendingSnapshot = snapshotIndex;
    }

    /// <summary>Leader reset on election: nothing known about the follower except that it may be as long as us.</summary>
    public void ResetForNewTerm(long match, long next)
    {
        ResetState(ProgressState.Probe);
        RecentActive = false;
        SetMatchNext(match, next);
    }

    /// <summary>Records an Append carrying entries up to <paramref name="lastIndex"/> with <paramref name="bytes"/> of payload.</summary>
    public void SentEntries(long lastIndex, long bytes)
    {
        switch (State)
        {
            case ProgressState.Replicate:
                // Pipelining: assume success and move on; a rejection rewinds Next to Match+1.
                SetMatchNext(_match, lastIndex + 1);
                Inflights.Add(lastIndex, bytes);
                break;
            case ProgressState.Probe:
                MsgAppFlowPaused = true;
                break;
            default:
                throw new InvalidOperationException($"Append sent to a follower in state {State}");
        }
    }

    /// <summary>An acknowledgement up to <paramref name="index"/>; false when it is stale.</summary>
    public bool MaybeUpdate(long index)
    {
        bool updated = false;
        if (_match < index)
        {
            SetMatchNext(index, Math.Max(_next, index + 1));
            updated = true;
            MsgAppFlowPaused = false;
        }
        else if (_next < index + 1)
        {
            SetMatchNext(_match, index + 1);
        }
        return updated;
    }

    /// <summary>
    /// The follower rejected an Append whose previous index was <paramref name="rejected"/>; it hints its log
    /// may agree up to <paramref name="matchHint"/>. False when the rejection is stale (fast backtracking, §5.3).
    /// </summary>
    public bool MaybeDecrTo(long rejected, long matchHint)
    {
        if (State == ProgressState.Replicate)
        {
            if (rejected <= _match)
            {
                return false;
            }
            SetMatchNext(_match, _match + 1);
            return true;
        }
        if (_next - 1 != rejected)
        {
            return false;
        }
        SetMatchNext(_match, Math.Max(Math.Min(rejected, matchHint + 1), _match + 1));
        MsgAppFlowPaused = false;
        return true;
    }

    public bool IsPaused => State switch
    {
        ProgressState.Probe => MsgAppFlowPaused,
        ProgressState.Replicate => Inflights.Full,
        _ => true,
    };

    public Progress Clone()
    {
        var copy = new Progress(_match, _next, Inflights.Clone(), IsLearner)
        {
            State = State,
            PendingSnapshot = PendingSnapshot,
            RecentActive = RecentActive,
            MsgAppFlowPaused = MsgAppFlowPaused,
        };
        return copy;
    }

    public override string ToString() =>
        $"{State} match={_match} next={_next}" + (IsLearner ? " learner" : "") + (State == ProgressState.Snapshot ? $" pendingSnapshot={PendingSnapshot}" : "") +
        (Inflights.Count > 0 ? $" inflight={Inflights.Count}" : "") + (MsgAppFlowPaused ? " paused" : "");
}
