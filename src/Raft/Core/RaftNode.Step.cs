namespace KvStore.Raft.Core;

public sealed partial class RaftNode
{
    /// <summary>The single entry point of every input. Returns why a local request was refused, or null.</summary>
    private DropReason? StepCore(Message m)
    {
        if (m.Term > Term)
        {
            if (m.Type is MessageType.Vote or MessageType.PreVote)
            {
                bool force = m.Payload.Span.SequenceEqual(s_campaignTransfer);
                // Leader lease on votes (with CheckQuorum): while we hear from a live leader, a candidate
                // that merely timed out (e.g. it was partitioned) must not depose it (§4.2.3).
                bool inLease = _config.CheckQuorum && Leader != 0 && _electionElapsed < _config.ElectionTick;
                if (!force && inLease)
                {
                    return null;
                }
            }
            if (m.Type == MessageType.PreVote)
            {
                // A pre-vote never changes our term (§9.6).
            }
            else if (m.Type == MessageType.PreVoteResponse && !m.Reject)
            {
                // The pre-candidate bumps its term when it wins the pre-election, not before.
            }
            else if (m.Type is MessageType.Append or MessageType.Heartbeat or MessageType.Snapshot)
            {
                BecomeFollower(m.Term, m.From);
            }
            else
            {
                BecomeFollower(m.Term, 0);
            }
        }
        else if (m.Term != 0 && m.Term < Term)
        {
            if ((_config.CheckQuorum || _config.PreVote) && m.Type is MessageType.Heartbeat or MessageType.Append)
            {
                // A stale leader (e.g. returning from a partition) learns the new term from this answer and
                // steps down; otherwise, with CheckQuorum or PreVote, it could never be told.
                Send(new Message { Type = MessageType.AppendResponse, To = m.From });
            }
            else if (m.Type == MessageType.PreVote)
            {
                Send(new Message { Type = MessageType.PreVoteResponse, To = m.From, Term = Term, Reject = true });
            }
            return null;
        }

        switch (m.Type)
        {
            case MessageType.Hup:
                Hup(transfer: false);
                return null;
            case MessageType.Vote:
            case MessageType.PreVote:
                HandleVoteRequest(m);
                return null;
        }
        return Role switch
        {
            RaftRole.Leader => StepLeader(m),
            RaftRole.Candidate or RaftRole.PreCandidate => StepCandidate(m),
            _ => StepFollower(m),
        };
    }

    private void HandleVoteRequest(Message m)
    {
        var responseType = m.Type == MessageType.Vote ? MessageType.VoteResponse : MessageType.PreVoteResponse;
        // We may vote for m.From if we already did this term, or have voted for nobody and know no leader;
        // a pre-vote for a future term is granted on the log check alone.
        bool canVote = Vote == m.From
            || (Vote == 0 && Leader == 0)
            || (m.Type == MessageType.PreVote && m.Term > Term);
        bool upToDate = (_config.PlantedBugs & PlantedBugs.VoteWithoutLogCheck) != 0 // planted bug: skip §5.4.1
            || _log.IsUpToDate(m.Index, m.LogTerm);
        if (canVote && upToDate)
        {
            Send(new Message { Type = responseType, To = m.From, Term = m.Term });
            if (m.Type == MessageType.Vote)
            {
                _electionElapsed = 0;
                Vote = m.From;
            }
        }
        else
        {
            Send(new Message { Type = responseType, To = m.From, Term = Term, Reject = true });
        }
    }

    private void Hup(bool transfer)
    {
        if (Role == RaftRole.Leader || !Promotable)
        {
            return;
        }
        // A node must not campaign while committed conf changes are unapplied: it would count votes
        // against a configuration it is about to leave.
        if (HasUnappliedConfChanges())
        {
            return;
        }
        if (_config.PreVote && !transfer)
        {
            StartCampaign(preVote: true, transfer: false);
        }
        else
        {
            StartCampaign(preVote: false, transfer: transfer);
        }
    }

    private bool HasUnappliedConfChanges()
    {
        if (_log.Committed <= _log.Applied)
        {
            return false;
        }
        var pending = _log.TryEntries(Math.Max(_log.Applied + 1, _log.FirstIndex()), _log.Committed + 1, long.MaxValue);
        return pending is not null && pending.Any(e => e.Type == EntryType.ConfChange);
    }

    private void StartCampaign(bool preVote, bool transfer)
    {
        if (!Promotable)
        {
            return;
        }
        MessageType voteType;
        long voteTerm;
        if (preVote)
        {
            BecomePreCandidate();
            voteType = MessageType.PreVote;
            voteTerm = Term + 1; // the term we would campaign in; our own term is unchanged (§9.6)
        }
        else
        {
            BecomeCandidate();
            voteType = MessageType.Vote;
            voteTerm = Term;
        }
        if (Poll(Id, granted: true) == VoteResult.Won)
        {
            // A single-voter group wins at once.
            if (preVote)
            {
                StartCampaign(preVote: false, transfer: transfer);
            }
            else
            {
                BecomeLeader();
            }
            return;
        }
        long lastIndex = _log.LastIndex();
        long lastTerm = _log.LastTerm();
        foreach (ulong id in _tracker.Config.AllVoters())
        {
            if (id == Id)
            {
                continue;
            }
            Send(new Message
            {
                Type = voteType,
                To = id,
                Term = voteTerm,
                Index = lastIndex,
                LogTerm = lastTerm,
                Payload = transfer ? s_campaignTransfer : ReadOnlyMemory<byte>.Empty,
            });
        }
    }

    private VoteResult Poll(ulong id, bool granted)
    {
        _tracker.RecordVote(id, granted);
        return _tracker.TallyVotes().Result;
    }

    private void Reset(long term)
    {
        if (Term != term)
        {
            if (term < Term)
            {
                throw new InvalidOperationException($"node {Id}: term must never decrease ({Term} -> {term})");
            }
            Term = term;
            Vote = 0;
        }
        Leader = 0;
        _electionElapsed = 0;
        _heartbeatElapsed = 0;
        ResetRandomizedElectionTimeout();
        AbortLeaderTransfer();
        _tracker.ResetVotes();
        long lastIndex = _log.LastIndex();
        // This node's own Match counts toward commit, so it covers only persisted entries (see CountOwnPersistedEntries).
        long persisted = PersistedLastIndex();
        foreach (var (id, pr) in _tracker.Progress)
        {
            pr.ResetForNewTerm(id == Id ? persisted : 0, lastIndex + 1);
        }
        _pendingConfIndex = 0;
        _uncommittedSize = 0;
        _readIndexQueue = new ReadIndexQueue();
        _pendingReadIndexMessages.Clear();
        _readHeartbeatPending = false;
        _appendBroadcastPending = false;
        _snapshotAssembly = null;
    }

    private void BecomeFollower(long term, ulong leader)
    {
        Reset(term);
        Leader = leader;
        Role = RaftRole.Follower;
    }

    private void BecomePreCandidate()
    {
        if (Role == RaftRole.Leader)
        {
            throw new InvalidOperationException($"node {Id}: invalid transition leader -> pre-candidate");
        }
        // Term and vote stay: a pre-election changes nothing a restart would have to remember.
        _tracker.ResetVotes();
        Leader = 0;
        Role = RaftRole.PreCandidate;
    }

    private void BecomeCandidate()
    {
        if (Role == RaftRole.Leader)
        {
            throw new InvalidOperationException($"node {Id}: invalid transition leader -> candidate");
        }
        Reset(Term + 1);
        Vote = Id;
        Role = RaftRole.Candidate;
    }

    private void BecomeLeader()
    {
        if (Role == RaftRole.Follower)
        {
            throw new InvalidOperationException($"node {Id}: invalid transition follower -> leader");
        }
        Reset(Term);
        Leader = Id;
        Role = RaftRole.Leader;
        var self = _tracker.Progress[Id];
        self.BecomeReplicate();
        self.RecentActive = true;
        // The empty entry of the new term (§8): committing it commits everything before it.
        if (!AppendEntries([new Entry(0, 0, EntryType.Normal, ReadOnlyMemory<byte>.Empty)]))
        {
            throw new InvalidOperationException("an empty entry was refused by the uncommitted size limit");
        }
        // Conf changes are refused until everything up to and including that entry is applied: the new
        // leader first commits an entry of its own term, so it knows which configuration is in force
        // (the single-server change safety fix, dissertation §4.1 errata).
        _pendingConfIndex = _log.LastIndex();
    }

    private DropReason? StepFollower(Message m)
    {
        switch (m.Type)
        {
            case MessageType.Propose:
                if (Leader == 0)
                {
                    return DropReason.NoLeader;
                }
                if (_config.DisableProposalForwarding)
                {
                    return DropReason.ForwardingDisabled;
                }
                Send(m with { To = Leader });
                return null;
            case MessageType.Append:
                _electionElapsed = 0;
                Leader = m.From;
                HandleAppend(m);
                return null;
            case MessageType.Heartbeat:
                _electionElapsed = 0;
                Leader = m.From;
                HandleHeartbeat(m);
                return null;
            case MessageType.Snapshot:
                _electionElapsed = 0;
                Leader = m.From;
                HandleSnapshotChunk(m);
                return null;
            case MessageType.TransferLeader:
            case MessageType.ReadIndex:
                if (Leader == 0)
                {
                    return DropReason.NoLeader;
                }
                Send(m with { To = Leader });
                return null;
            case MessageType.TimeoutNow:
                // Our leader hands over (§3.10): campaign at once, skipping the pre-vote and any lease.
                Hup(transfer: true);
                return null;
            case MessageType.ReadIndexResponse:
                _readStates.Add(new ReadState(m.Index, m.Payload));
                return null;
            default:
                return null;
        }
    }

    private DropReason? StepCandidate(Message m)
    {
        var myResponse = Role == RaftRole.PreCandidate ? MessageType.PreVoteResponse : MessageType.VoteResponse;
        switch (m.Type)
        {
            case MessageType.Propose:
            case MessageType.ReadIndex:
            case MessageType.TransferLeader:
                return DropReason.NoLeader;
            case MessageType.Append:
                BecomeFollower(m.Term, m.From);
                HandleAppend(m);
                return null;
            case MessageType.Heartbeat:
                BecomeFollower(m.Term, m.From);
                HandleHeartbeat(m);
                return null;
            case MessageType.Snapshot:
                BecomeFollower(m.Term, m.From);
                HandleSnapshotChunk(m);
                return null;
        }
        if (m.Type == myResponse)
        {
            switch (Poll(m.From, !m.Reject))
            {
                case VoteResult.Won:
                    if (Role == RaftRole.PreCandidate)
                    {
                        StartCampaign(preVote: false, transfer: false);
                    }
                    else
                    {
                        BecomeLeader();
                        BcastAppend();
                    }
                    break;
                case VoteResult.Lost:
                    BecomeFollower(Term, 0);
                    break;
            }
        }
        return null;
    }
}
