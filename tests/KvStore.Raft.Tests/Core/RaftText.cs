using System.Text;
using KvStore.Raft.Core;

namespace KvStore.Raft.Tests.Core;

/// <summary>Stable, compact text forms of Raft values for transcripts and assertion messages.</summary>
public static class RaftText
{
    public static string Ids(IEnumerable<ulong> ids) => "[" + string.Join(" ", ids) + "]";

    public static string Conf(ConfState cs)
    {
        var sb = new StringBuilder($"voters={Ids(cs.Voters)}");
        if (cs.VotersOutgoing.Count > 0)
        {
            sb.Append($"&&{Ids(cs.VotersOutgoing)}");
        }
        if (cs.Learners.Count > 0)
        {
            sb.Append($" learners={Ids(cs.Learners)}");
        }
        if (cs.LearnersNext.Count > 0)
        {
            sb.Append($" learners_next={Ids(cs.LearnersNext)}");
        }
        if (cs.AutoLeave)
        {
            sb.Append(" autoleave");
        }
        return sb.ToString();
    }

    /// <summary>Quoted text with control characters escaped, so one value never spans lines.</summary>
    public static string Data(ReadOnlyMemory<byte> data)
    {
        var sb = new StringBuilder("\"");
        foreach (char ch in Encoding.UTF8.GetString(data.Span))
        {
            sb.Append(ch switch
            {
                '\n' => "\\n",
                '"' => "\\\"",
                < ' ' => $"\\x{(int)ch:X2}",
                _ => ch.ToString(),
            });
        }
        return sb.Append('"').ToString();
    }

    public static string Change(ConfChange cc)
    {
        if (cc.IsLeaveJoint)
        {
            return "conf[leave-joint]";
        }
        var parts = cc.Changes.Select(c => c.Type switch
        {
            ConfChangeType.AddVoter => $"v{c.NodeId}",
            ConfChangeType.AddLearner => $"l{c.NodeId}",
            _ => $"r{c.NodeId}",
        });
        return "conf[" + string.Join(" ", parts) + (cc.UseJoint || cc.Changes.Count > 1 ? (cc.AutoLeave ? " joint-auto" : " joint-explicit") : "") + "]";
    }

    public static string Entry(Entry e) =>
        $"{e.Term}/{e.Index} " + (e.Type == EntryType.ConfChange ? Change(ConfChangeCodec.Decode(e.Data.Span)) : Data(e.Data));

    public static string Entries(IReadOnlyList<Entry> entries) => "[" + string.Join(", ", entries.Select(Entry)) + "]";

    public static string Message(Message m)
    {
        var sb = new StringBuilder($"{m.From}->{m.To} {m.Type}");
        if (m.Term != 0)
        {
            sb.Append($" Term:{m.Term}");
        }
        switch (m.Type)
        {
            case MessageType.Vote:
            case MessageType.PreVote:
                sb.Append($" Log:{m.LogTerm}/{m.Index}");
                if (!m.Payload.IsEmpty)
                {
                    sb.Append(" transfer");
                }
                break;
            case MessageType.VoteResponse:
            case MessageType.PreVoteResponse:
                if (m.Reject)
                {
                    sb.Append(" Rejected");
                }
                break;
            case MessageType.Append:
                sb.Append($" Log:{m.LogTerm}/{m.Index} Commit:{m.Commit}");
                if (m.Entries.Count > 0)
                {
                    sb.Append($" Entries:{Entries(m.Entries)}");
                }
                break;
            case MessageType.AppendResponse:
                sb.Append(m.Reject ? $" Rejected Index:{m.Index} Hint:{m.RejectHintTerm}/{m.RejectHint}" : $" Index:{m.Index}");
                break;
            case MessageType.Heartbeat:
                sb.Append($" Commit:{m.Commit}");
                if (!m.Payload.IsEmpty)
                {
                    sb.Append($" Context:{Data(m.Payload)}");
                }
                break;
            case MessageType.HeartbeatResponse:
            case MessageType.ReadIndex:
                if (!m.Payload.IsEmpty)
                {
                    sb.Append($" Context:{Data(m.Payload)}");
                }
                break;
            case MessageType.ReadIndexResponse:
                sb.Append($" Index:{m.Index} Context:{Data(m.Payload)}");
                break;
            case MessageType.Snapshot:
                var meta = m.SnapshotMetadata!.Value;
                sb.Append($" Snapshot:{meta.Term}/{meta.Index} {Conf(meta.ConfState)} Chunk:{m.ChunkOffset}+{m.Payload.Length}");
                if (m.ChunkLast)
                {
                    sb.Append(" Last");
                }
                break;
            case MessageType.SnapshotResponse:
                sb.Append($" Index:{m.Index}");
                if (m.Reject)
                {
                    sb.Append(" Rejected");
                }
                break;
            case MessageType.Propose:
                sb.Append($" Entries:{Entries(m.Entries)}");
                break;
        }
        return sb.ToString();
    }

    public static string Status(RaftStatus s)
    {
        var sb = new StringBuilder($"{s.Id}: {s.Role} term={s.Term} vote={s.Vote} leader={s.Leader} commit={s.Commit} applied={s.Applied} last={s.LastIndex} {Conf(s.ConfState)}");
        if (s.LeadTransferee != 0)
        {
            sb.Append($" transferring-to={s.LeadTransferee}");
        }
        foreach (var (id, p) in s.Progress)
        {
            sb.Append($"\n  {id}: {p.State} match={p.Match} next={p.Next}");
            if (p.IsLearner)
            {
                sb.Append(" learner");
            }
            if (p.PendingSnapshot != 0)
            {
                sb.Append($" pending-snapshot={p.PendingSnapshot}");
            }
            if (p.Inflight != 0)
            {
                sb.Append($" inflight={p.Inflight}");
            }
        }
        return sb.ToString();
    }
}
