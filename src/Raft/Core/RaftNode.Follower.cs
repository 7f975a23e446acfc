namespace KvStore.Raft.Core;

public sealed partial class RaftNode
{
    private void HandleAppend(Message m)
    {
        if (m.Index < _log.Committed)
        {
            // Everything up to our commit index is already known to match the leader (Log Matching).
            Send(new Message { Type = MessageType.AppendResponse, To = m.From, Index = _log.Committed });
            return;
        }
        if (_log.MaybeAppend(m.Index, m.LogTerm, m.Commit, m.Entries) is { } lastNew)
        {
            Send(new Message { Type = MessageType.AppendResponse, To = m.From, Index = lastNew });
            return;
        }
        // §5.3 consistency check failed. Hint the largest index whose term is <= the leader's prevTerm:
        // the leader can skip a whole term of mismatching entries per round trip.
        long hint = Math.Min(m.Index, _log.LastIndex());
        var (hintIndex, hintTerm) = _log.FindConflictByTerm(hint, m.LogTerm);
        Send(new Message
        {
            Type = MessageType.AppendResponse,
            To = m.From,
            Index = m.Index,
            Reject = true,
            RejectHint = hintIndex,
            RejectHintTerm = hintTerm,
        });
    }

    private void HandleHeartbeat(Message m)
    {
        _log.CommitTo(m.Commit);
        Send(new Message { Type = MessageType.HeartbeatResponse, To = m.From, Payload = m.Payload });
    }

    /// <summary>
    /// Assembles snapshot chunks strictly in order. A chunk that does not continue the snapshot being
    /// assembled is rejected, and the leader starts over later; the last chunk installs the snapshot.
    /// </summary>
    private void HandleSnapshotChunk(Message m)
    {
        if (m.SnapshotMetadata is not { } meta)
        {
            return;
        }
        if (m.ChunkOffset == 0)
        {
            _snapshotAssembly = new SnapshotAssembly { Metadata = meta };
        }
        else if (_snapshotAssembly is not { } current
            || current.Metadata.Index != meta.Index
            || current.Metadata.Term != meta.Term
            || current.Data.Length != m.ChunkOffset)
        {
            _snapshotAssembly = null;
            Send(new Message { Type = MessageType.SnapshotResponse, To = m.From, Index = meta.Index, Reject = true });
            return;
        }
        var assembly = _snapshotAssembly!;
        assembly.Data.Write(m.Payload.Span);
        if (!m.ChunkLast)
        {
            return;
        }
        _snapshotAssembly = null;
        var snapshot = new Snapshot(meta, assembly.Data.ToArray());
        long index = RestoreSnapshot(snapshot) ? _log.LastIndex() : _log.Committed;
        Send(new Message { Type = MessageType.SnapshotResponse, To = m.From, Index = index });
    }

    /// <summary>Installs a snapshot from the leader; false when it is not news to us.</summary>
    private bool RestoreSnapshot(Snapshot snapshot)
    {
        var meta = snapshot.Metadata;
        if (meta.Index <= _log.Committed)
        {
            return false;
        }
        // The snapshot's configuration may not list us yet (we were added after it was taken). We install it
        // anyway: until the log entries after it add us, we are simply not promotable, and refusing it would
        // leave us unable to ever catch up from a compacted leader.
        var cs = meta.ConfState;
        if (_log.MatchTerm(meta.Index, meta.Term))
        {
            // We already have the entry: just fast-forward the commit index.
            _log.CommitTo(meta.Index);
            return false;
        }
        _log.Restore(snapshot);
        var (cfg, prs) = ConfChanger.Restore(cs, _tracker, _log.LastIndex());
        SwitchToConfig(cfg, prs);
        return true;
    }
}
