using KvStore.Raft.Core;

namespace KvStore.Raft.Tests.Simulation;

/// <summary>
/// The invariants of a simulated run, fed by the simulator after every step. Each check reports
/// the first violation as a message; the simulator turns it into a failure naming the seed.
/// <list type="bullet">
/// <item>Election Safety: at most one leader per term (over the whole history, not just now).</item>
/// <item>State Machine Safety: an entry once committed (seen below any node's commit index, or
/// applied anywhere) never changes: same index, same term and bytes everywhere, forever.</item>
/// <item>Every node applies the same sequence: each applied entry must equal the committed one.</item>
/// <item>No acknowledged proposal is lost: checked at the end on every member.</item>
/// <item>Linearizable reads: a ReadIndex read sees every write acknowledged before it began.</item>
/// </list>
/// </summary>
internal sealed class SafetyChecker
{
    private readonly Dictionary<long, ulong> _leaders = [];
    private readonly Dictionary<long, (long Term, EntryType Type, byte[] Data, ulong FirstSeenAt)> _committed = [];
    private readonly Dictionary<long, (ulong Node, int Incarnation)> _pendingProposals = [];
    private readonly Dictionary<long, long> _acked = [];
    private readonly Dictionary<ulong, PendingRead> _pendingReads = [];

    /// <summary>Log index of the latest acknowledged write (by index), and its value.</summary>
    public long LastAckedIndex { get; private set; }

    public long LastAckedValue { get; private set; }

    public int AckedCount => _acked.Count;

    public int ReadsServed { get; private set; }

    public int LeadersElected => _leaders.Count;

    public IReadOnlyDictionary<long, long> Acked => _acked;

    /// <summary>Leaders that ever were, by term (for liveness checks and reports).</summary>
    public IReadOnlyDictionary<long, ulong> Leaders => _leaders;

    public void ProposalSubmitted(long value, SimulatedNode node) => _pendingProposals[value] = (node.Id, node.Incarnation);

    public void ReadSubmitted(ulong readId, SimulatedNode node) =>
        _pendingReads[readId] = new PendingRead(node.Id, node.Incarnation, LastAckedIndex, LastAckedValue);

    /// <summary>A crashed node's clients get no answer: their requests stay unacknowledged forever.</summary>
    public void NodeCrashed(SimulatedNode node)
    {
        foreach (var value in _pendingProposals.Where(p => p.Value.Node == node.Id).Select(p => p.Key).ToList())
        {
            _pendingProposals.Remove(value);
        }

        foreach (var id in _pendingReads.Where(p => p.Value.Node == node.Id).Select(p => p.Key).ToList())
        {
            _pendingReads.Remove(id);
        }
    }

    /// <summary>Checks after every simulation step.</summary>
    public string? CheckStep(IEnumerable<SimulatedNode> nodes)
    {
        foreach (var n in nodes)
        {
            if (!n.Up)
            {
                continue;
            }

            var raft = n.Raft;
            if (raft.Role == RaftRole.Leader)
            {
                if (_leaders.TryGetValue(raft.Term, out ulong other) && other != n.Id)
                {
                    return $"two leaders in term {raft.Term}: node {other} and node {n.Id}";
                }

                _leaders[raft.Term] = n.Id;
            }

            string? problem = CheckCommittedPrefix(n);
            if (problem is not null)
            {
                return problem;
            }
        }

        return null;
    }

    /// <summary>Every entry a node holds at or below its commit index must be the committed entry of that index.</summary>
    private string? CheckCommittedPrefix(SimulatedNode n)
    {
        long first = n.Storage.FirstIndex();
        long last = Math.Min(n.Raft.CommitIndex, n.Storage.LastIndex());
        long from = Math.Max(n.CheckedCommit + 1, first);
        if (from > last)
        {
            n.CheckedCommit = Math.Max(n.CheckedCommit, last);
            return null;
        }

        foreach (var e in n.Storage.Entries(from, last + 1, long.MaxValue))
        {
            string? problem = Compare(n.Id, e, "holds below its commit index");
            if (problem is not null)
            {
                return problem;
            }
        }

        n.CheckedCommit = last;
        return null;
    }

    public string? Applied(SimulatedNode node, Entry entry)
    {
        string? problem = Compare(node.Id, entry, "applied");
        if (problem is not null)
        {
            return problem;
        }

        if (entry.Type == EntryType.Normal && RegisterMachine.TryValue(entry.Data, out long value)
            && _pendingProposals.TryGetValue(value, out var proposer)
            && proposer.Node == node.Id && proposer.Incarnation == node.Incarnation)
        {
            // The proposing node applied it: its client now has an answer.
            _pendingProposals.Remove(value);
            _acked[value] = entry.Index;
            if (entry.Index > LastAckedIndex)
            {
                LastAckedIndex = entry.Index;
                LastAckedValue = value;
            }
        }

        return null;
    }

    public string? ReadServed(SimulatedNode node, ulong readId, long readIndex)
    {
        if (!_pendingReads.Remove(readId, out var read) || read.Incarnation != node.Incarnation || read.Node != node.Id)
        {
            return null;
        }

        ReadsServed++;
        var machine = node.Machine;
        if (read.RequiredIndex > 0)
        {
            long? seen = machine.ValueAt(read.RequiredIndex);
            if (machine.AppliedIndex < read.RequiredIndex || seen != read.RequiredValue)
            {
                return $"stale read {readId} on node {node.Id}: served at read index {readIndex} with state applied through {machine.AppliedIndex}, " +
                       $"but value {read.RequiredValue} was acknowledged at index {read.RequiredIndex} before the read began (state holds {seen?.ToString() ?? "nothing"} there)";
            }
        }

        return null;
    }

    /// <summary>After healing and convergence: every acknowledged value is applied on every member, at its index.</summary>
    public string? CheckAckedEverywhere(IEnumerable<SimulatedNode> members)
    {
        foreach (var n in members)
        {
            foreach (var (value, index) in _acked)
            {
                long? seen = n.Machine.ValueAt(index);
                if (seen != value)
                {
                    return $"acknowledged value {value} (index {index}) is missing on node {n.Id}: its state holds {seen?.ToString() ?? "nothing"} there, applied through {n.Machine.AppliedIndex}";
                }
            }
        }

        return null;
    }

    private string? Compare(ulong node, Entry e, string how)
    {
        if (_committed.TryGetValue(e.Index, out var known))
        {
            if (known.Term != e.Term || known.Type != e.Type || !known.Data.AsSpan().SequenceEqual(e.Data.Span))
            {
                return $"committed entry changed at index {e.Index}: first seen committed as term {known.Term} {Describe(known.Type, known.Data)} " +
                       $"(node {known.FirstSeenAt}), but node {node} {how} term {e.Term} {Describe(e.Type, e.Data.Span)}";
            }

            return null;
        }

        _committed[e.Index] = (e.Term, e.Type, e.Data.ToArray(), node);
        return null;
    }

    private static string Describe(EntryType type, ReadOnlySpan<byte> data) =>
        type == EntryType.ConfChange ? "conf-change"
        : data.Length == 8 ? $"value {System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(data)}"
        : data.IsEmpty ? "no-op" : $"{data.Length} bytes";

    private readonly record struct PendingRead(ulong Node, int Incarnation, long RequiredIndex, long RequiredValue);
}
