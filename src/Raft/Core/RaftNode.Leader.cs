namespace KvStore.Raft.Core;

public sealed partial class RaftNode
{
    private DropReason? StepLeader(Message m)
    {
        switch (m.Type)
        {
            case MessageType.Beat:
                BcastHeartbeat(null);
                return null;
            case MessageType.CheckQuorum:
                if (!_tracker.QuorumActive(Id))
                {
                    // Not heard from a quorum for an election timeout: another leader may exist, stop serving.
                    BecomeFollower(Term, 0);
                }
                foreach (var (id, pr) in _tracker.Progress)
                {
                    if (id != Id)
                    {
                        pr.RecentActive = false;
                    }
                }
                return null;
            case MessageType.Propose:
                return HandlePropose(m);
            case MessageType.ReadIndex:
                if (!CommittedEntryInCurrentTerm())
                {
                    // §6.4: until an entry of this term is committed the leader does not know the true
                    // commit index; hold the request rather than answer with a stale index.
                    _pendingReadIndexMessages.Add(m);
                    return null;
                }
                AcceptReadIndex(m);
                return null;
        }

        if (!_tracker.Progress.TryGetValue(m.From, out var pr2))
        {
            return null;
        }
        switch (m.Type)
        {
            case MessageType.AppendResponse:
                HandleAppendResponse(m, pr2);
                break;
            case MessageType.HeartbeatResponse:
                HandleHeartbeatResponse(m, pr2);
                break;
            case MessageType.SnapshotResponse:
                if (pr2.State != ProgressState.Snapshot)
                {
                    break;
                }
                pr2.RecentActive = true;
                if (m.Reject || m.Index < pr2.PendingSnapshot)
                {
                    // A chunk went missing, or the follower did not install it: probe again; the next
                    // heartbeat answer restarts the snapshot (at most one attempt per heartbeat).
                    pr2.SnapshotFailed();
                    pr2.MsgAppFlowPaused = true;
                }
                else
                {
                    pr2.BecomeProbe();
                    if (pr2.MaybeUpdate(m.Index) && MaybeCommit())
                    {
                        ReleasePendingReadIndexMessages();
                        BcastAppend();
                    }
                    else
                    {
                        SendAppend(m.From);
                    }
                }
                break;
            case MessageType.Unreachable:
                if (pr2.State == ProgressState.Replicate)
                {
                    pr2.BecomeProbe();
                }
                break;
            case MessageType.TransferLeader:
                HandleTransferLeader(m.From, pr2);
                break;
        }
        return null;
    }

    private DropReason? HandlePropose(Message m)
    {
        if (m.Entries.Count == 0)
        {
            throw new ArgumentException("a proposal must carry at least one entry", nameof(m));
        }
        if (!_tracker.Progress.ContainsKey(Id))
        {
            return DropReason.NotAVoter;
        }
        if (_leadTransferee != 0)
        {
            return DropReason.LeadershipTransferInProgress;
        }
        long lastIndex = _log.LastIndex();
        long confIndex = 0;
        for (int i = 0; i < m.Entries.Count; i++)
        {
            if (m.Entries[i].Type != EntryType.ConfChange)
            {
                continue;
            }
            ConfChange change;
            try
            {
                change = ConfChangeCodec.Decode(m.Entries[i].Data.Span);
            }
            catch (FormatException)
            {
                return DropReason.ConfChangePending;
            }
            if (ConfChangeRefusal(change, throwIfInvalid: false) is { } refusal)
            {
                return refusal;
            }
            confIndex = lastIndex + i + 1;
        }
        var entries = new List<Entry>(m.Entries.Count);
        foreach (var e in m.Entries)
        {
            entries.Add(new Entry(0, 0, e.Type, e.Data));
        }
        if (!AppendEntries(entries))
        {
            return DropReason.UncommittedSizeExceeded;
        }
        if (confIndex != 0)
        {
            _pendingConfIndex = confIndex;
        }
        // Proposals between two Readys go out together: one Append per follower carries all of them.
        _appendBroadcastPending = true;
        return null;
    }

    /// <summary>Why a conf change may not be proposed now, or null. One change at a time, and joint must be left first.</summary>
    private DropReason? ConfChangeRefusal(ConfChange change, bool throwIfInvalid)
    {
        if (_pendingConfIndex > _log.Applied)
        {
            return DropReason.ConfChangePending;
        }
        bool joint = _tracker.Config.IsJoint;
        if (joint != change.IsLeaveJoint)
        {
            if (throwIfInvalid && !joint)
            {
                throw new ArgumentException("an empty conf change leaves a joint configuration, but the configuration is not joint", nameof(change));
            }
            return DropReason.ConfChangePending;
        }
        try
        {
            // Everything earlier is applied, so the configuration the change will be applied to is the current one.
            new ConfChanger(_tracker, _log.LastIndex()).Apply(change);
        }
        catch (ArgumentException) when (!throwIfInvalid)
        {
            return DropReason.ConfChangePending;
        }
        return null;
    }

    /// <summary>Appends entries of the current term to the leader's log; false when backpressure refuses them.</summary>
    private bool AppendEntries(IReadOnlyList<Entry> entries)
    {
        long lastIndex = _log.LastIndex();
        var stamped = new List<Entry>(entries.Count);
        for (int i = 0; i < entries.Count; i++)
        {
            stamped.Add(entries[i] with { Term = Term, Index = lastIndex + 1 + i });
        }
        if (!IncreaseUncommittedSize(stamped))
        {
            return false;
        }
        _log.Append(stamped);
        // The leader's own Match moves only when the host reports the entries persisted (Advance): its
        // Appends may reach followers while its own fsync is still in flight (dissertation §10.2.1).
        return true;
    }

    /// <summary>
    /// Commit rule (§5.4.2, Figure 8): the largest index a (joint) quorum holds is committed only if its
    /// entry is of the current term; earlier-term entries are committed indirectly by it.
    /// </summary>
    private bool MaybeCommit()
    {
        long before = _log.Committed;
        bool planted = (_config.PlantedBugs & PlantedBugs.CommitPreviousTermByCount) != 0; // planted bug: skip the term check
        bool advanced = _log.MaybeCommit(_tracker.Committed(), Term, planted);
        if (advanced && _log.Committed < before)
        {
            throw new InvalidOperationException($"commit index decreased from {before} to {_log.Committed}");
        }
        return advanced;
    }

    private bool CommittedEntryInCurrentTerm() => _log.TermOrZero(_log.Committed) == Term;

    private void BcastAppend()
    {
        foreach (ulong id in _tracker.Progress.Keys.ToList())
        {
            if (id != Id)
            {
                SendAppend(id);
            }
        }
    }

    private void BcastHeartbeat(ReadOnlyMemory<byte>? context)
    {
        foreach (var (id, pr) in _tracker.Progress)
        {
            if (id == Id)
            {
                continue;
            }
            // Never tell a follower a commit index beyond what it is known to hold.
            Send(new Message
            {
                Type = MessageType.Heartbeat,
                To = id,
                Commit = Math.Min(pr.Match, _log.Committed),
                Payload = context ?? ReadOnlyMemory<byte>.Empty,
            });
        }
    }

    private void SendAppend(ulong to) => MaybeSendAppend(to, sendIfEmpty: true);

    /// <summary>Sends the next Append (or a snapshot when the entries are compacted) unless the follower's flow is paused.</summary>
    private bool MaybeSendAppend(ulong to, bool sendIfEmpty)
    {
        var pr = _tracker.Progress[to];
        if (pr.IsPaused)
        {
            return false;
        }
        long prevIndex = pr.Next - 1;
        bool haveTerm = _log.TryTerm(prevIndex, out long prevTerm);
        var entries = haveTerm ? _log.TryEntries(pr.Next, _log.LastIndex() + 1, _config.MaxSizePerMessage) : null;
        if (entries is null)
        {
            return SendSnapshot(to, pr);
        }
        if (entries.Count == 0 && !sendIfEmpty)
        {
            return false;
        }
        if (entries.Count > 0 || pr.State == ProgressState.Probe)
        {
            pr.SentEntries(entries.Count > 0 ? entries[^1].Index : prevIndex, PayloadSize(entries));
        }
        Send(new Message
        {
            Type = MessageType.Append,
            To = to,
            Index = prevIndex,
            LogTerm = prevTerm,
            Entries = entries,
            Commit = _log.Committed,
        });
        return true;
    }

    /// <summary>The follower needs compacted entries: send the storage's snapshot in chunks and pause Appends.</summary>
    private bool SendSnapshot(ulong to, Progress pr)
    {
        if (!pr.RecentActive)
        {
            // Do not ship a whole snapshot to a node we have not heard from lately.
            return false;
        }
        var snapshot = _storage.Snapshot();
        if (snapshot.IsEmpty)
        {
            return false;
        }
        pr.BecomeSnapshot(snapshot.Metadata.Index);
        int chunk = _config.SnapshotChunkSize;
        int offset = 0;
        bool last;
        do
        {
            int length = Math.Min(chunk, snapshot.Data.Length - offset);
            last = offset + length >= snapshot.Data.Length;
            Send(new Message
            {
                Type = MessageType.Snapshot,
                To = to,
                SnapshotMetadata = snapshot.Metadata,
                ChunkOffset = offset,
                ChunkLast = last,
                Payload = snapshot.Data.Slice(offset, length),
            });
            offset += length;
        }
        while (!last);
        return true;
    }

    private void HandleAppendResponse(Message m, Progress pr)
    {
        pr.RecentActive = true;
        if (m.Reject)
        {
            long nextProbe = m.RejectHint;
            if (m.RejectHintTerm > 0)
            {
                // Fast backtracking: skip every entry of ours whose term cannot match the follower's hint.
                nextProbe = _log.FindConflictByTerm(m.RejectHint, m.RejectHintTerm).Index;
            }
            if (pr.MaybeDecrTo(m.Index, nextProbe))
            {
                if (pr.State == ProgressState.Replicate)
                {
                    pr.BecomeProbe();
                }
                SendAppend(m.From);
            }
            return;
        }
        bool wasPaused = pr.IsPaused;
        // A probe answered at exactly the known match (e.g. right after a snapshot) also proves where the follower is.
        if (!pr.MaybeUpdate(m.Index) && !(pr.Match == m.Index && pr.State == ProgressState.Probe))
        {
            return;
        }
        switch (pr.State)
        {
            case ProgressState.Probe:
                pr.BecomeReplicate();
                break;
            case ProgressState.Snapshot when pr.Match + 1 >= _log.FirstIndex():
                pr.BecomeProbe();
                pr.BecomeReplicate();
                break;
            case ProgressState.Replicate:
                pr.Inflights.FreeLE(m.Index);
                break;
        }
        if (MaybeCommit())
        {
            ReleasePendingReadIndexMessages();
            BcastAppend();
        }
        else if (wasPaused)
        {
            SendAppend(m.From);
        }
        // Pipelining: fill the inflight window with whatever is left.
        while (MaybeSendAppend(m.From, sendIfEmpty: false))
        {
        }
        if (m.From == _leadTransferee && pr.Match == _log.LastIndex())
        {
            SendTimeoutNow(m.From);
        }
    }

    private void HandleHeartbeatResponse(Message m, Progress pr)
    {
        pr.RecentActive = true;
        pr.MsgAppFlowPaused = false;
        // Appends may have been lost with the window full: free one slot so the next Append goes out; if the
        // follower is missing entries it rejects it and we fall back to probing. Without this, a lost message
        // would stall a replicating follower forever.
        if (pr.State == ProgressState.Replicate && pr.Inflights.Full)
        {
            pr.Inflights.FreeFirstOne();
        }
        if (pr.Match < _log.LastIndex() || pr.State == ProgressState.Probe)
        {
            SendAppend(m.From);
        }
        if (_config.ReadOnlyOption != ReadOnlyOption.Safe || m.Payload.IsEmpty)
        {
            return;
        }
        var acks = _readIndexQueue.Ack(m.From, m.Payload);
        if (acks is null || _tracker.VoteResultOf(id => acks.Contains(id) ? true : null) != VoteResult.Won)
        {
            return;
        }
        // A quorum still follows us as of this heartbeat: every read queued up to its context is confirmed.
        foreach (var request in _readIndexQueue.Advance(m.Payload))
        {
            RespondToReadIndex(request.Message, request.Index);
        }
    }

    private void AcceptReadIndex(Message m)
    {
        if (_tracker.IsSingleton(Id) || _config.ReadOnlyOption == ReadOnlyOption.LeaseBased)
        {
            // Alone, or trusting the CheckQuorum lease: the commit index is the read index.
            RespondToReadIndex(m, _log.Committed);
            return;
        }
        ulong id = ++_lastReadRequestId;
        _readIndexQueue.Add(_log.Committed, m, id);
        _readIndexQueue.Ack(Id, ReadIndexQueue.Context(id));
        _readHeartbeatPending = true;
    }

    private void RespondToReadIndex(Message request, long index)
    {
        if (request.From == 0 || request.From == Id)
        {
            _readStates.Add(new ReadState(index, request.Payload));
        }
        else
        {
            Send(new Message { Type = MessageType.ReadIndexResponse, To = request.From, Index = index, Payload = request.Payload });
        }
    }

    private void ReleasePendingReadIndexMessages()
    {
        if (_pendingReadIndexMessages.Count == 0 || !CommittedEntryInCurrentTerm())
        {
            return;
        }
        var pending = _pendingReadIndexMessages.ToList();
        _pendingReadIndexMessages.Clear();
        foreach (var m in pending)
        {
            AcceptReadIndex(m);
        }
    }

    private void HandleTransferLeader(ulong transferee, Progress pr)
    {
        if (pr.IsLearner)
        {
            return;
        }
        if (_leadTransferee != 0)
        {
            if (_leadTransferee == transferee)
            {
                return;
            }
            AbortLeaderTransfer();
        }
        if (transferee == Id)
        {
            return;
        }
        // The transfer must finish within an election timeout (§3.10), counted from now.
        _electionElapsed = 0;
        _leadTransferee = transferee;
        if (pr.Match == _log.LastIndex())
        {
            SendTimeoutNow(transferee);
        }
        else
        {
            SendAppend(transferee);
        }
    }

    private void SendTimeoutNow(ulong to) => Send(new Message { Type = MessageType.TimeoutNow, To = to });
}
