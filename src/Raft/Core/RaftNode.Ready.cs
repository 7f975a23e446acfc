namespace KvStore.Raft.Core;

public sealed partial class RaftNode
{
    /// <summary>Whether <see cref="GetReady"/> has anything to hand out. False while a Ready awaits <see cref="Advance"/>.</summary>
    public bool HasReady()
    {
        if (_outstandingReady is not null)
        {
            return false;
        }
        FlushDeferredSends();
        return new SoftState(Leader, Role) != _prevSoftState
            || CurrentHardState() != _prevHardState
            || _log.HasPendingSnapshot
            || _log.Unstable.Entries.Count > 0
            || _messages.Count > 0
            || _readStates.Count > 0
            || _log.HasNextCommittedEntries();
    }

    /// <summary>Everything the host must do now (see the host loop in <see cref="Ready"/>); acknowledge with <see cref="Advance"/>.</summary>
    public Ready GetReady()
    {
        if (_outstandingReady is not null)
        {
            throw new InvalidOperationException($"node {Id}: GetReady called again before Advance acknowledged the previous Ready");
        }
        FlushDeferredSends();
        var soft = new SoftState(Leader, Role);
        var hard = CurrentHardState();
        var entries = _log.Unstable.Entries.ToList();
        var (early, late) = SplitEarlyMessages(_messages);
        var ready = new Ready
        {
            SoftState = soft != _prevSoftState ? soft : null,
            HardState = hard != _prevHardState ? hard : null,
            Entries = entries,
            Snapshot = _log.Unstable.Snapshot,
            CommittedEntries = _log.NextCommittedEntries(),
            Messages = late,
            EarlyMessages = early,
            ReadStates = _readStates,
            MustSync = entries.Count > 0 || _log.Unstable.Snapshot is not null || hard.Term != _prevHardState.Term || hard.Vote != _prevHardState.Vote,
        };
        _messages = [];
        _readStates = [];
        _prevSoftState = soft;
        _outstandingReady = ready;
        return ready;
    }

    /// <summary>The host has persisted, sent and applied the last Ready.</summary>
    public void Advance()
    {
        var ready = _outstandingReady ?? throw new InvalidOperationException($"node {Id}: Advance called without an outstanding Ready");
        _outstandingReady = null;
        if (ready.HardState is { } hs)
        {
            _prevHardState = hs;
        }
        if (ready.Entries.Count > 0)
        {
            var last = ready.Entries[^1];
            _log.Unstable.StableTo(last.Index, last.Term);
            CountOwnPersistedEntries();
        }
        if (ready.Snapshot is { } snap)
        {
            _log.Unstable.StableSnapshotTo(snap.Metadata.Index);
            _log.AfterSnapshotApplied(snap.Metadata.Index);
        }
        if (ready.CommittedEntries.Count > 0)
        {
            _log.AppliedTo(ready.CommittedEntries[^1].Index);
            ReduceUncommittedSize(ready.CommittedEntries);
        }
        MaybeAutoLeaveJoint();
    }

    private HardState CurrentHardState() => new(Term, Vote, _log.Committed);

    /// <summary>The last index of this node's log that the host has persisted (everything before the unstable part).</summary>
    private long PersistedLastIndex() => Math.Min(_log.LastIndex(), _log.Unstable.Offset - 1);

    /// <summary>
    /// The leader's own vote toward commit, cast only for entries on its disk (dissertation §10.2.1): its
    /// Appends may leave before its own fsync, so a quorum of acknowledgements must never include entries
    /// the leader could still lose in a crash.
    /// </summary>
    private void CountOwnPersistedEntries()
    {
        if (Role != RaftRole.Leader || !_tracker.Progress.TryGetValue(Id, out var self))
        {
            return;
        }
        if (self.MaybeUpdate(PersistedLastIndex()) && MaybeCommit())
        {
            ReleasePendingReadIndexMessages();
            BcastAppend();
        }
    }

    /// <summary>
    /// Splits the outgoing messages into those the host may send before persisting this Ready (a leader's
    /// Appends and Heartbeats of a term already durable in the hard state) and those that must wait
    /// (every answer that vouches for this node's disk: vote and append responses, and anything of a term
    /// not yet persisted, such as a new single-voter leader's first messages).
    /// </summary>
    private (List<Message> Early, List<Message> Late) SplitEarlyMessages(List<Message> messages)
    {
        List<Message> early = [];
        if (Role != RaftRole.Leader || Term != _prevHardState.Term || Vote != _prevHardState.Vote)
        {
            return (early, messages);
        }
        List<Message> late = [];
        foreach (var m in messages)
        {
            if (m.Type is MessageType.Append or MessageType.Heartbeat && m.Term == Term)
            {
                early.Add(m);
            }
            else
            {
                late.Add(m);
            }
        }
        return (early, late);
    }

    /// <summary>
    /// With AutoLeave, the leader proposes leaving the joint configuration as soon as the change that
    /// entered it is applied (dissertation §4.3: C_old,new then C_new).
    /// </summary>
    private void MaybeAutoLeaveJoint()
    {
        if (Role != RaftRole.Leader || !_tracker.Config.AutoLeave || _log.Applied < _pendingConfIndex)
        {
            return;
        }
        var leave = new Entry(0, 0, EntryType.ConfChange, ConfChangeCodec.Encode(new ConfChange()));
        if (!AppendEntries([leave]))
        {
            throw new InvalidOperationException("an empty leave-joint entry was refused by the uncommitted size limit");
        }
        _pendingConfIndex = _log.LastIndex();
        BcastAppend();
    }

    /// <summary>Sends what was batched since the last Ready: new entries to followers, and one heartbeat for all queued reads.</summary>
    private void FlushDeferredSends()
    {
        if (_appendBroadcastPending)
        {
            _appendBroadcastPending = false;
            if (Role == RaftRole.Leader)
            {
                foreach (ulong id in _tracker.Progress.Keys.ToList())
                {
                    if (id != Id)
                    {
                        MaybeSendAppend(id, sendIfEmpty: false);
                    }
                }
            }
        }
        if (_readHeartbeatPending)
        {
            _readHeartbeatPending = false;
            if (Role == RaftRole.Leader && _readIndexQueue.LastContext() is { } context)
            {
                BcastHeartbeat(context);
            }
        }
    }

    private static long PayloadSize(IReadOnlyList<Entry> entries)
    {
        long size = 0;
        foreach (var e in entries)
        {
            size += e.Data.Length;
        }
        return size;
    }

    private bool IncreaseUncommittedSize(IReadOnlyList<Entry> entries)
    {
        long size = PayloadSize(entries);
        if (_config.MaxUncommittedEntriesSize > 0 && _uncommittedSize > 0 && size > 0 && _uncommittedSize + size > _config.MaxUncommittedEntriesSize)
        {
            return false;
        }
        _uncommittedSize += size;
        return true;
    }

    private void ReduceUncommittedSize(IReadOnlyList<Entry> entries)
    {
        long size = PayloadSize(entries);
        _uncommittedSize = size > _uncommittedSize ? 0 : _uncommittedSize - size;
    }
}
