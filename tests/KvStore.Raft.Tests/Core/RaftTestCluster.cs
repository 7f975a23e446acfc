using System.Text;
using KvStore.Raft.Core;

namespace KvStore.Raft.Tests.Core;

/// <summary>
/// A deterministic in-test network of <see cref="RaftNode"/>s over <see cref="MemoryRaftStorage"/>. It runs
/// the host loop of the API contract exactly (persist snapshot, entries and hard state; send; apply
/// committed entries and conf changes; collect read states; Advance) and queues messages per recipient.
/// Every step can be traced for transcripts.
/// </summary>
public sealed class RaftTestCluster
{
    public sealed class Member
    {
        public required RaftConfig Config { get; init; }
        public required MemoryRaftStorage Storage { get; init; }
        public required RaftNode Node { get; set; }

        /// <summary>The state machine: applied normal entries with data, by index.</summary>
        public List<(long Index, string Data)> Applied { get; set; } = [];

        /// <summary>Configurations by the index that produced them, for snapshots at an index.</summary>
        public List<(long Index, ConfState Conf)> ConfHistory { get; } = [];

        public List<ReadState> ReadStates { get; } = [];

        public List<Message> Inbox { get; } = [];
    }

    private readonly SortedDictionary<ulong, Member> _members = [];
    private readonly HashSet<(ulong From, ulong To)> _cut = [];

    public StringBuilder? Trace { get; set; }

    public IReadOnlyDictionary<ulong, Member> Members => _members;

    public RaftNode this[ulong id] => _members[id].Node;

    public Member Get(ulong id) => _members[id];

    public static RaftConfig DefaultConfig(ulong id) => new()
    {
        Id = id,
        ElectionTick = 10,
        HeartbeatTick = 1,
        PreVote = false,
        CheckQuorum = false,
    };

    /// <summary>Adds a node whose storage starts with <paramref name="initial"/> (empty for a node that joins later).</summary>
    public Member Add(RaftConfig config, ConfState initial)
    {
        var storage = new MemoryRaftStorage(initial);
        var member = new Member { Config = config, Storage = storage, Node = new RaftNode(config, storage) };
        member.ConfHistory.Add((0, initial));
        _members[config.Id] = member;
        return member;
    }

    /// <summary>The ConfState every member's storage starts from (index 0); a joining node starts from it too.</summary>
    public ConfState Bootstrap { get; set; } = ConfState.Empty;

    /// <summary>A fresh group of <paramref name="count"/> voters with ids 1..count.</summary>
    public static RaftTestCluster Create(int count, Func<RaftConfig, RaftConfig>? configure = null)
    {
        var cluster = new RaftTestCluster();
        var voters = Enumerable.Range(1, count).Select(i => (ulong)i).ToArray();
        cluster.Bootstrap = new ConfState { Voters = voters };
        foreach (ulong id in voters)
        {
            var cfg = DefaultConfig(id);
            cluster.Add(configure is null ? cfg : configure(cfg), cluster.Bootstrap);
        }
        return cluster;
    }

    /// <summary>
    /// Adds a node that will join the group by a conf change. It starts from the group's bootstrap
    /// configuration (as every member does) and replays the log's conf changes, or gets a snapshot.
    /// </summary>
    public Member AddJoiner(RaftConfig config) => Add(config, Bootstrap);

    /// <summary>Simulates a crash and restart: volatile state is lost, storage survives.</summary>
    public void Restart(ulong id)
    {
        var m = _members[id];
        m.Inbox.Clear();
        m.Node = new RaftNode(m.Config with { Applied = 0 }, m.Storage);
        RestoreStateMachine(m, m.Storage.Snapshot());
    }

    public void Partition(IEnumerable<ulong> a, IEnumerable<ulong> b)
    {
        foreach (ulong x in a)
        {
            foreach (ulong y in b)
            {
                _cut.Add((x, y));
                _cut.Add((y, x));
            }
        }
    }

    public void Isolate(ulong id) => Partition([id], _members.Keys.Where(k => k != id).ToList());

    public void Heal() => _cut.Clear();

    public bool HandleReady(ulong id)
    {
        var m = _members[id];
        if (!m.Node.HasReady())
        {
            return false;
        }
        var rd = m.Node.GetReady();
        Trace?.Append($"> {id} handling Ready\n");
        if (rd.SoftState is { } ss)
        {
            Trace?.Append($"  State:{ss.Role} Leader:{ss.Leader}\n");
        }
        if (rd.HardState is { } hs)
        {
            Trace?.Append($"  HardState Term:{hs.Term} Vote:{hs.Vote} Commit:{hs.Commit}\n");
        }
        // 1. Snapshot: persist and restore the state machine from it.
        if (rd.Snapshot is { } snap)
        {
            Trace?.Append($"  Snapshot {snap.Metadata.Term}/{snap.Metadata.Index} {RaftText.Conf(snap.Metadata.ConfState)} Data:{RaftText.Data(snap.Data)}\n");
            m.Storage.ApplySnapshot(snap);
            RestoreStateMachine(m, snap);
        }
        // 2. Entries and hard state to stable storage.
        if (rd.Entries.Count > 0)
        {
            Trace?.Append($"  Entries: {RaftText.Entries(rd.Entries)}\n");
            m.Storage.Append(rd.Entries);
        }
        if (rd.HardState is { } hs2)
        {
            m.Storage.SetHardState(hs2);
        }
        // 3. Send (the early messages too: this driver keeps the simple persist-then-send order).
        foreach (var msg in rd.EarlyMessages.Concat(rd.Messages))
        {
            Trace?.Append($"  send {RaftText.Message(msg)}\n");
            if (_members.TryGetValue(msg.To, out var to))
            {
                to.Inbox.Add(msg);
            }
        }
        // 4. Apply.
        foreach (var e in rd.CommittedEntries)
        {
            Trace?.Append($"  apply {RaftText.Entry(e)}\n");
            if (e.Type == EntryType.ConfChange)
            {
                var cs = m.Node.ApplyConfChange(ConfChangeCodec.Decode(e.Data.Span));
                m.ConfHistory.Add((e.Index, cs));
                Trace?.Append($"  conf now {RaftText.Conf(cs)}\n");
            }
            else if (!e.Data.IsEmpty)
            {
                m.Applied.Add((e.Index, Encoding.UTF8.GetString(e.Data.Span)));
            }
        }
        // 5. Reads.
        foreach (var rs in rd.ReadStates)
        {
            Trace?.Append($"  read-state Index:{rs.Index} Context:{RaftText.Data(rs.RequestContext)}\n");
            m.ReadStates.Add(rs);
        }
        // 6. Acknowledge.
        m.Node.Advance();
        return true;
    }

    /// <summary>Delivers every queued message to <paramref name="id"/>; returns how many were stepped.</summary>
    public int Deliver(ulong id)
    {
        var m = _members[id];
        if (m.Inbox.Count == 0)
        {
            return 0;
        }
        var inbox = m.Inbox.ToList();
        m.Inbox.Clear();
        Trace?.Append($"> {id} receiving messages\n");
        int delivered = 0;
        foreach (var msg in inbox)
        {
            if (_cut.Contains((msg.From, msg.To)))
            {
                Trace?.Append($"  {RaftText.Message(msg)} DROPPED (partition)\n");
                continue;
            }
            Trace?.Append($"  {RaftText.Message(msg)}\n");
            m.Node.Step(msg);
            delivered++;
        }
        return delivered;
    }

    /// <summary>Delivers the one message at <paramref name="position"/> of <paramref name="id"/>'s inbox (for reordering), unless cut.</summary>
    public void DeliverOne(ulong id, int position)
    {
        var m = _members[id];
        var msg = m.Inbox[position];
        m.Inbox.RemoveAt(position);
        if (!_cut.Contains((msg.From, msg.To)))
        {
            m.Node.Step(msg);
        }
    }

    /// <summary>Discards the one message at <paramref name="position"/> of <paramref name="id"/>'s inbox.</summary>
    public void DropOne(ulong id, int position)
    {
        var inbox = _members[id].Inbox;
        Trace?.Append($"  dropped {RaftText.Message(inbox[position])}\n");
        inbox.RemoveAt(position);
    }

    /// <summary>Discards the messages queued for <paramref name="id"/>.</summary>
    public void Drop(ulong id)
    {
        var m = _members[id];
        foreach (var msg in m.Inbox)
        {
            Trace?.Append($"  dropped {RaftText.Message(msg)}\n");
        }
        m.Inbox.Clear();
    }

    /// <summary>Runs Ready handling and delivery until nothing moves (etcd's "stabilize").</summary>
    public void Stabilize(IReadOnlyCollection<ulong>? ids = null, int maxRounds = 10_000)
    {
        var which = ids is { Count: > 0 } ? ids : _members.Keys.ToList();
        for (int round = 0; round < maxRounds; round++)
        {
            bool moved = false;
            foreach (ulong id in which)
            {
                moved |= HandleReady(id);
            }
            foreach (ulong id in which)
            {
                moved |= _members[id].Inbox.Count > 0;
                Deliver(id);
            }
            if (!moved)
            {
                return;
            }
        }
        var probe = new StringBuilder();
        var saved = Trace;
        Trace = probe;
        foreach (ulong id in which)
        {
            HandleReady(id);
        }
        foreach (ulong id in which)
        {
            Deliver(id);
        }
        Trace = saved;
        foreach (var m in _members.Values)
        {
            probe.Append(RaftText.Status(m.Node.Status())).Append('\n');
            probe.Append($"  storage [{m.Storage.FirstIndex()}, {m.Storage.LastIndex()}] snapshot {m.Storage.Snapshot().Metadata.Index} terms:");
            for (long i = m.Storage.FirstIndex() - 1; i <= m.Storage.LastIndex(); i++)
            {
                probe.Append($" {i}/{m.Storage.Term(i)}");
            }
            probe.Append('\n');
        }
        throw new InvalidOperationException($"cluster did not stabilize within {maxRounds} rounds; one more round:\n{probe}");
    }

    public void Tick(ulong id, int times = 1)
    {
        for (int i = 0; i < times; i++)
        {
            _members[id].Node.Tick();
        }
    }

    public void TickAll(int times = 1)
    {
        for (int i = 0; i < times; i++)
        {
            foreach (var m in _members.Values)
            {
                m.Node.Tick();
            }
        }
    }

    /// <summary>Campaigns on <paramref name="id"/> and stabilizes; returns the leader afterwards.</summary>
    public ulong Elect(ulong id)
    {
        _members[id].Node.Campaign();
        Stabilize();
        return _members[id].Node.Leader;
    }

    /// <summary>Takes a snapshot of <paramref name="id"/>'s state machine at <paramref name="index"/> and compacts its log there.</summary>
    public Snapshot Compact(ulong id, long index)
    {
        var m = _members[id];
        var conf = m.ConfHistory.Last(c => c.Index <= index).Conf;
        var data = Encoding.UTF8.GetBytes(string.Join("\n", m.Applied.Where(a => a.Index <= index).Select(a => $"{a.Index}:{a.Data}")));
        var snap = m.Storage.CreateSnapshot(index, conf, data);
        m.Storage.Compact(index);
        return snap;
    }

    private static void RestoreStateMachine(Member m, Snapshot snap)
    {
        m.Applied = [];
        if (!snap.Data.IsEmpty)
        {
            foreach (var line in Encoding.UTF8.GetString(snap.Data.Span).Split('\n'))
            {
                int colon = line.IndexOf(':');
                m.Applied.Add((long.Parse(line[..colon]), line[(colon + 1)..]));
            }
        }
        m.ConfHistory.RemoveAll(c => c.Index > snap.Metadata.Index);
        m.ConfHistory.Add((snap.Metadata.Index, snap.Metadata.ConfState));
        m.ConfHistory.Sort((a, b) => a.Index.CompareTo(b.Index));
    }

    public static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>The applied data of a member, in order.</summary>
    public IReadOnlyList<string> AppliedData(ulong id) => _members[id].Applied.Select(a => a.Data).ToList();
}
