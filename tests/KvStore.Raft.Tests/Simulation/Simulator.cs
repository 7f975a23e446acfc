using KvStore.Raft.Core;
using KvStore.Storage.IO;

namespace KvStore.Raft.Tests.Simulation;

/// <summary>
/// A deterministic simulation of one Raft group: one thread, one seed, virtual time. Nodes are
/// <see cref="RaftNode"/>s driven directly (with the host loop's persist-send-apply semantics, see
/// <see cref="SimulatedNode"/>); the network, the disks, the clocks and the faults all draw from one
/// <see cref="Random"/> seeded by <see cref="SimulationOptions.Seed"/>, so a seed replays exactly.
/// </summary>
/// <remarks>
/// Phases: (1) faults on for <see cref="SimulationOptions.FaultTicks"/> ticks while clients propose
/// unique values and issue ReadIndex reads; (2) heal everything (links, drops, crashed nodes) and
/// require a leader and a newly committed proposal within <see cref="SimulationOptions.LivenessTicks"/>;
/// (3) require every member to apply every acknowledged value. Safety invariants
/// (<see cref="SafetyChecker"/>) are checked after every step.
/// </remarks>
public sealed class Simulator : ISimulationObserver
{
    /// <summary>Virtual time units per tick of a node at the base rate.</summary>
    public const long TickUnit = 100;

    private readonly SimulationOptions _options;
    private readonly Random _random;
    private readonly SimulatedNetwork _network;
    private readonly SafetyChecker _checker = new();
    private readonly SortedDictionary<ulong, SimulatedNode> _nodes = [];
    private readonly PriorityQueue<SimEvent, (long Time, long Sequence)> _events = new();
    private readonly bool _coreFailuresAreCrashes;
    private long _sequence;
    private long _now;
    private long _nextValue = 1;
    private ulong _nextRead = 1;
    private bool _faultsOn = true;
    private bool _clientsOn = true;
    private int _coreFailures;
    private int _crashes;
    private int _confChanges;

    public Simulator(SimulationOptions options)
    {
        _options = options;
        _random = new Random(unchecked((int)(options.Seed ^ (options.Seed >> 32))) ^ 0x5EED);
        _network = new SimulatedNetwork(_random);
        // With a planted bug the core may trip its own assertions; treat that as the node panicking and
        // restarting (fail-stop) so the general checker gets the chance to see the damage.
        _coreFailuresAreCrashes = options.Bugs != PlantedBugs.None;
    }

    public SimulationTrace Trace { get; } = new();

    public SimulationResult Run()
    {
        Setup();
        long faultEnd = _options.FaultTicks * TickUnit;
        while (_now < faultEnd && _events.Count > 0)
        {
            Step();
        }

        Heal();
        long recoveredAt = AwaitLeaderAndCommit();
        AwaitConvergence();
        return new SimulationResult(_options.Seed, Trace.Hash, Trace.Events, _checker.AckedCount, _checker.ReadsServed,
            _checker.LeadersElected, _crashes, _confChanges, _coreFailures, (recoveredAt - faultEnd) / TickUnit);
    }

    private void Setup()
    {
        var voters = Enumerable.Range(1, _options.Nodes).Select(i => (ulong)i).ToArray();
        var initial = new ConfState { Voters = voters };
        bool rates = _options.DifferentTickRates && _random.Next(2) == 0;
        int snapshotEvery = _options.Snapshots ? _random.Next(3, 15) : 0;
        int retain = _random.Next(0, 4);
        for (ulong id = 1; id <= (ulong)(_options.Nodes + _options.SpareNodes); id++)
        {
            var config = new RaftConfig
            {
                Id = id,
                Group = SimulatedNode.Group,
                ElectionTick = _options.ElectionTick,
                HeartbeatTick = 1,
                PreVote = _options.PreVote,
                CheckQuorum = _options.CheckQuorum,
                MaxSizePerMessage = _options.MaxSizePerMessage,
                MaxInflightMessages = 8,
                SnapshotChunkSize = 48,
                RandomSeed = _options.Seed * 0x100000001B3UL + id,
                PlantedBugs = _options.Bugs,
            };
            long period = rates ? TickUnit * _random.Next(70, 131) / 100 : TickUnit;
            // A joining node is bootstrapped with the group's initial configuration (like etcd's --initial-cluster):
            // it replays the log from index 1 unless the leader sends a snapshot, and the log does not
            // repeat the configuration that the index-0 bootstrap snapshot carries.
            _nodes[id] = new SimulatedNode(id, config, initial, period, snapshotEvery, retain, _options.RealLogStore ? new FaultInjectingFileSystem() : null);
        }

        _network.DropRate = _random.NextDouble() * _options.MaxDropRate;
        _network.DuplicateRate = _random.NextDouble() * _options.MaxDuplicateRate;
        _network.ReorderRate = _random.NextDouble() * _options.MaxReorderRate;
        Record($"setup nodes={_options.Nodes}+{_options.SpareNodes} drop={_network.DropRate:F3} dup={_network.DuplicateRate:F3} " +
               $"reorder={_network.ReorderRate:F3} snapshotEvery={snapshotEvery} retain={retain} rates={rates}");
        foreach (var node in _nodes.Values.Where(n => n.Id <= (ulong)_options.Nodes))
        {
            StartNode(node);
        }

        Schedule(_random.Next(1, _options.ClientInterval), new SimEvent(EventKind.Client, 0, 0));
        Schedule(_random.Next(1, _options.NemesisInterval), new SimEvent(EventKind.Nemesis, 0, 0));
    }

    private void Step()
    {
        var (ev, time) = Dequeue();
        _now = time;
        switch (ev.Kind)
        {
            case EventKind.Tick:
                OnTick(ev);
                break;
            case EventKind.Deliver:
                OnDeliver(ev.Message!);
                break;
            case EventKind.Client:
                OnClient();
                break;
            case EventKind.Nemesis:
                OnNemesis();
                break;
            case EventKind.Crash:
                if (_nodes[ev.Node] is { Up: true } victim && victim.Incarnation == ev.Incarnation)
                {
                    Crash(victim, "crash at a targeted moment");
                }

                break;
            case EventKind.Restart:
                if (_nodes[ev.Node] is { Up: false } down && down.Incarnation == ev.Incarnation)
                {
                    StartNode(down);
                }

                break;
            case EventKind.SnapshotDelivered:
                if (_nodes[ev.Node] is { Up: true } snapshotSender && snapshotSender.Incarnation == ev.Incarnation)
                {
                    Guard(snapshotSender, () => snapshotSender.Raft.ReportSnapshot(ev.Peer, failed: false));
                }

                break;
            case EventKind.SendFailed:
                if (_nodes[ev.Node] is { Up: true } sender && sender.Incarnation == ev.Incarnation)
                {
                    Guard(sender, () =>
                    {
                        sender.Raft.ReportUnreachable(ev.Peer);
                        if (ev.Message!.Type == MessageType.Snapshot)
                        {
                            sender.Raft.ReportSnapshot(ev.Peer, failed: true);
                        }
                    });
                }

                break;
        }

        if (_checker.CheckStep(_nodes.Values) is { } problem)
        {
            throw Failure(SimulationFailureKind.Safety, problem);
        }
    }

    private void OnTick(SimEvent ev)
    {
        var node = _nodes[ev.Node];
        if (!node.Up || node.Incarnation != ev.Incarnation)
        {
            return;
        }

        Schedule(node.TickPeriod, ev);
        Guard(node, () => node.Raft.Tick());
    }

    private void OnDeliver(Message m)
    {
        if (!_nodes.TryGetValue(m.To, out var node) || !node.Up || _network.IsCut(m.From, m.To))
        {
            Record($"lost {m.From}->{m.To} {m.Type}");
            if (_nodes.TryGetValue(m.From, out var sender))
            {
                Schedule(1, new SimEvent(EventKind.SendFailed, sender.Id, sender.Incarnation, Message: m, Peer: m.To));
            }

            return;
        }

        Record($"recv {m.From}->{m.To} {m.Type} t{m.Term}");
        Guard(node, () => node.Raft.Step(m));
        if (m.Type == MessageType.Snapshot && m.ChunkLast && _nodes.TryGetValue(m.From, out var leader))
        {
            // The whole snapshot went through: the sender's transport reports success (etcd's ReportSnapshot).
            Schedule(1, new SimEvent(EventKind.SnapshotDelivered, leader.Id, leader.Incarnation, Peer: m.To));
        }
    }

    private void OnClient()
    {
        if (!_clientsOn)
        {
            return;
        }

        Schedule(_random.Next(1, 2 * _options.ClientInterval), new SimEvent(EventKind.Client, 0, 0));
        var target = PickClientTarget();
        if (target is null)
        {
            return;
        }

        if (_random.Next(10) < 7)
        {
            Propose(target, _nextValue++);
        }
        else
        {
            ulong id = _nextRead++;
            var context = new byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(context, id);
            Guard(target, () =>
            {
                try
                {
                    target.Raft.ReadIndex(context);
                    _checker.ReadSubmitted(id, target);
                    Record($"read {id} at {target.Id} (requires index {_checker.LastAckedIndex})");
                }
                catch (ProposalDroppedException e)
                {
                    Record($"read {id} at {target.Id} refused: {e.Reason}");
                }
            });
        }
    }

    private bool Propose(SimulatedNode target, long value)
    {
        bool accepted = false;
        Guard(target, () =>
        {
            try
            {
                target.Raft.Propose(RegisterMachine.Command(value));
                _checker.ProposalSubmitted(value, target);
                accepted = true;
                Record($"propose {value} at {target.Id}");
            }
            catch (ProposalDroppedException e)
            {
                Record($"propose {value} at {target.Id} refused: {e.Reason}");
            }
        });
        return accepted;
    }

    private SimulatedNode? PickClientTarget()
    {
        var up = _nodes.Values.Where(n => n.Up).ToList();
        if (up.Count == 0)
        {
            return null;
        }

        // Clients mostly find the leader; sometimes they ask a follower (which forwards).
        var leader = CurrentLeader();
        return leader is not null && _random.Next(10) < 8 ? leader : up[_random.Next(up.Count)];
    }

    private SimulatedNode? CurrentLeader()
    {
        SimulatedNode? best = null;
        foreach (var n in _nodes.Values)
        {
            if (n.Up && n.Raft.Role == RaftRole.Leader && (best is null || n.Raft.Term > best.Raft.Term))
            {
                best = n;
            }
        }

        return best;
    }

    private void OnNemesis()
    {
        if (!_faultsOn)
        {
            return;
        }

        Schedule(_random.Next(_options.NemesisInterval / 2, 3 * _options.NemesisInterval / 2 + 1), new SimEvent(EventKind.Nemesis, 0, 0));
        if (_options.MembershipChanges && _random.Next(3) == 0)
        {
            ChangeMembership();
            return;
        }

        var up = _nodes.Values.Where(n => n.Up).ToList();
        switch (_random.Next(10))
        {
            case 0 when _options.Partitions:
            {
                // Symmetric partition into two random sides.
                _network.Heal();
                var members = _nodes.Values.Select(n => n.Id).ToList();
                var side = members.Where(_ => _random.Next(2) == 0).ToHashSet();
                foreach (ulong a in side)
                {
                    foreach (ulong b in members.Where(b => !side.Contains(b)))
                    {
                        _network.Cut(a, b);
                        _network.Cut(b, a);
                    }
                }

                Record($"partition [{string.Join(',', side)}] from the rest");
                break;
            }

            case 1 when _options.Partitions:
            {
                ulong from = (ulong)_random.Next(1, _nodes.Count + 1);
                ulong to = (ulong)_random.Next(1, _nodes.Count + 1);
                if (from != to)
                {
                    _network.Cut(from, to);
                    Record($"cut one way {from}->{to}");
                }

                break;
            }

            case 2 when _options.Partitions:
            {
                if (CurrentLeader() is { } leader)
                {
                    Isolate(leader, "nemesis");
                }

                break;
            }

            case 3:
                _network.Heal();
                Record("heal links");
                break;
            case 4 or 5 when _options.Crashes && up.Count > 0:
            {
                // Prefer a node with unsynced writes: that is where a missing fsync would show.
                var unsynced = up.Where(n => n.HasUnsyncedWrites).ToList();
                var victim = unsynced.Count > 0 && _random.Next(2) == 0 ? unsynced[_random.Next(unsynced.Count)] : up[_random.Next(up.Count)];
                Crash(victim, "nemesis");
                break;
            }

            case 6:
                _network.DropRate = _random.NextDouble() * _options.MaxDropRate;
                _network.DuplicateRate = _random.NextDouble() * _options.MaxDuplicateRate;
                _network.ReorderRate = _random.NextDouble() * _options.MaxReorderRate;
                Record($"network drop={_network.DropRate:F3} dup={_network.DuplicateRate:F3} reorder={_network.ReorderRate:F3}");
                break;
            case 8:
            {
                if (CurrentLeader() is { } leader)
                {
                    var voters = leader.Raft.ConfState.Voters.Where(v => v != leader.Id).ToList();
                    if (voters.Count > 0)
                    {
                        ulong target = voters[_random.Next(voters.Count)];
                        Record($"transfer leadership {leader.Id}->{target}");
                        Guard(leader, () => leader.Raft.TransferLeadership(target));
                    }
                }

                break;
            }

            default:
                if (_options.DifferentTickRates && up.Count > 0)
                {
                    var node = up[_random.Next(up.Count)];
                    node.TickPeriod = TickUnit * _random.Next(60, 141) / 100;
                    Record($"node {node.Id} ticks every {node.TickPeriod}");
                }

                break;
        }
    }

    private void Isolate(SimulatedNode node, string why)
    {
        foreach (ulong other in _nodes.Keys.Where(k => k != node.Id))
        {
            _network.Cut(node.Id, other);
            _network.Cut(other, node.Id);
        }

        Record($"isolate {node.Id} ({why})");
    }

    private void ChangeMembership()
    {
        if (CurrentLeader() is not { } leader)
        {
            return;
        }

        var cs = leader.Raft.ConfState;
        if (cs.IsJoint)
        {
            return;
        }

        var spare = _nodes.Values.FirstOrDefault(n => !cs.Voters.Contains(n.Id) && !cs.Learners.Contains(n.Id) && n.Id > (ulong)_options.Nodes && !n.Removed);
        ConfChange change;
        int pick = _random.Next(4);
        if (pick == 0 && cs.Learners.Count > 0)
        {
            change = new ConfChange { Changes = [new ConfChangeSingle(ConfChangeType.AddVoter, cs.Learners[0])] };
        }
        else if (pick == 1 && spare is not null)
        {
            if (!spare.Up && spare.Incarnation == 0)
            {
                StartNode(spare);
            }

            change = new ConfChange { Changes = [new ConfChangeSingle(ConfChangeType.AddLearner, spare.Id)] };
        }
        else if (pick == 2 && cs.Voters.Count > 3)
        {
            ulong removed = cs.Voters[_random.Next(cs.Voters.Count)];
            change = new ConfChange { Changes = [new ConfChangeSingle(ConfChangeType.RemoveNode, removed)] };
        }
        else if (pick == 3 && cs.Learners.Count > 0 && cs.Voters.Count >= 3)
        {
            // Swap a voter for a learner through a joint configuration (§4.3).
            ulong removed = cs.Voters[_random.Next(cs.Voters.Count)];
            change = new ConfChange
            {
                UseJoint = true,
                Changes = [new ConfChangeSingle(ConfChangeType.AddVoter, cs.Learners[0]), new ConfChangeSingle(ConfChangeType.RemoveNode, removed)],
            };
        }
        else
        {
            return;
        }

        string what = string.Join(',', change.Changes.Select(c => $"{c.Type}({c.NodeId})")) + (change.UseJoint ? " joint" : "");
        Guard(leader, () =>
        {
            try
            {
                leader.Raft.ProposeConfChange(change);
                _confChanges++;
                foreach (var c in change.Changes.Where(c => c.Type == ConfChangeType.RemoveNode))
                {
                    _nodes[c.NodeId].Removed = true;
                }

                Record($"conf change at {leader.Id}: {what}");
            }
            catch (Exception e) when (e is ProposalDroppedException or ArgumentException)
            {
                Record($"conf change at {leader.Id} refused ({what}): {e.Message}");
            }
        });
    }

    private void Crash(SimulatedNode node, string why)
    {
        bool unsynced = node.HasUnsyncedWrites;
        _checker.NodeCrashed(node);
        node.Crash(_random);
        _crashes++;
        Record($"crash {node.Id} ({why}){(unsynced ? " with unsynced writes" : "")}");
        long downFor = _faultsOn ? _random.Next(1, 15) * TickUnit : 1;
        Schedule(downFor, new SimEvent(EventKind.Restart, node.Id, node.Incarnation));
    }

    private void StartNode(SimulatedNode node)
    {
        Guard(node, () =>
        {
            node.Start();
            Record($"start {node.Id} (incarnation {node.Incarnation}, term {node.Raft.Term}, commit {node.Raft.CommitIndex}, applied {node.Machine.AppliedIndex})");
            Schedule(_random.Next(1, (int)node.TickPeriod + 1), new SimEvent(EventKind.Tick, node.Id, node.Incarnation));
        });
    }

    private void Heal()
    {
        _faultsOn = false;
        _clientsOn = false;
        _network.Heal();
        _network.DropRate = 0;
        _network.DuplicateRate = 0;
        _network.ReorderRate = 0;
        Record("heal everything");
        foreach (var node in _nodes.Values.Where(n => !n.Up && n.Incarnation > 0))
        {
            StartNode(node);
        }
    }

    /// <summary>Liveness: after healing, a leader is elected and a new proposal is applied at it within the bound.</summary>
    private long AwaitLeaderAndCommit()
    {
        long deadline = _now + _options.LivenessTicks * TickUnit;
        long probe = 0;
        SimulatedNode? proposer = null;
        int proposerIncarnation = -1;
        while (_now <= deadline && _events.Count > 0)
        {
            if (probe != 0 && _checker.Acked.ContainsKey(probe))
            {
                Record($"recovered: probe {probe} committed");
                return _now;
            }

            var leader = CurrentLeader();
            bool stale = proposer is null || !proposer.Up || proposer.Incarnation != proposerIncarnation || proposer.Raft.Role != RaftRole.Leader;
            if (leader is not null && stale)
            {
                long value = _nextValue++;
                if (Propose(leader, value))
                {
                    probe = value;
                    proposer = leader;
                    proposerIncarnation = leader.Incarnation;
                }
            }

            Step();
        }

        var roles = string.Join(", ", _nodes.Values.Where(n => n.Up).Select(n => $"{n.Id}:{n.Raft.Role}/t{n.Raft.Term}"));
        throw Failure(SimulationFailureKind.Liveness,
            $"no leader committed a new proposal within {_options.LivenessTicks} ticks after healing (nodes {roles})");
    }

    /// <summary>After recovery every member catches up; then no acknowledged value may be missing anywhere.</summary>
    private void AwaitConvergence()
    {
        long deadline = _now + _options.LivenessTicks * TickUnit;
        List<SimulatedNode> members = [];
        while (true)
        {
            var leader = CurrentLeader();
            if (leader is not null)
            {
                var cs = leader.Raft.ConfState;
                members = _nodes.Values.Where(n => cs.Voters.Contains(n.Id) || cs.Learners.Contains(n.Id)).ToList();
                long target = leader.Raft.CommitIndex;
                if (members.All(n => n.Up && n.Machine.AppliedIndex >= Math.Max(target, _checker.LastAckedIndex)))
                {
                    break;
                }
            }

            if (_now > deadline || _events.Count == 0)
            {
                var lag = string.Join(", ", _nodes.Values.Where(n => n.Up).Select(n => $"{n.Id}:applied {n.Machine.AppliedIndex}"));
                throw Failure(SimulationFailureKind.Liveness,
                    $"members did not catch up within {_options.LivenessTicks} ticks after recovery (last acknowledged index {_checker.LastAckedIndex}; {lag})");
            }

            Step();
        }

        if (_checker.CheckAckedEverywhere(members) is { } problem)
        {
            throw Failure(SimulationFailureKind.Safety, problem);
        }
    }

    private void Guard(SimulatedNode node, Action action)
    {
        try
        {
            action();
            node.ProcessReadies(this);
        }
        catch (SimulationFailureException)
        {
            throw;
        }
        catch (Exception e)
        {
            if (!_coreFailuresAreCrashes)
            {
                throw Failure(SimulationFailureKind.CoreFailure, $"node {node.Id} threw {e.GetType().Name}: {e.Message}", e);
            }

            _coreFailures++;
            Record($"node {node.Id} panicked: {e.Message}");
            if (node.Up)
            {
                Crash(node, "panic");
            }
        }
    }

    void ISimulationObserver.Send(SimulatedNode from, Message m)
    {
        Record($"send {m.From}->{m.To} {m.Type} t{m.Term} i{m.Index} lt{m.LogTerm} c{m.Commit} n{m.Entries.Count}{(m.Reject ? " reject" : "")}");
        if (!_nodes.ContainsKey(m.To))
        {
            return;
        }

        bool sent = false;
        foreach (long at in _network.DeliveryTimes(m, _now))
        {
            sent = true;
            Schedule(at - _now, new SimEvent(EventKind.Deliver, m.To, 0, m));
        }

        if (!sent)
        {
            // A real transport notices a failed send (a broken stream) and tells Raft, as etcd's rafthttp
            // does with ReportUnreachable / ReportSnapshot; the leader then probes the follower again.
            Schedule(1, new SimEvent(EventKind.SendFailed, from.Id, from.Incarnation, Message: m, Peer: m.To));
        }
    }

    bool ISimulationObserver.CrashBeforeSync(SimulatedNode node, Ready ready)
    {
        if (!_faultsOn || !_options.Crashes || _options.CrashLeaderBeforeSyncRate <= 0
            || !ready.EarlyMessages.Any(m => m.Type == MessageType.Append && m.Entries.Count > 0)
            || _random.NextDouble() >= _options.CrashLeaderBeforeSyncRate)
        {
            return false;
        }

        Crash(node, "leader crashed after sending Appends, before syncing them");
        return true;
    }

    void ISimulationObserver.Applied(SimulatedNode node, Entry entry)
    {
        if (_checker.Applied(node, entry) is { } problem)
        {
            throw Failure(SimulationFailureKind.Safety, problem);
        }
    }

    void ISimulationObserver.ReadServed(SimulatedNode node, ulong readId, long readIndex)
    {
        Record($"read {readId} served at {node.Id}, index {readIndex}, applied {node.Machine.AppliedIndex}");
        if (_checker.ReadServed(node, readId, readIndex) is { } problem)
        {
            throw Failure(SimulationFailureKind.Safety, problem);
        }
    }

    void ISimulationObserver.ReadyHandled(SimulatedNode node, Ready ready)
    {
        if (ready.SoftState is { } soft)
        {
            Record($"node {node.Id} is {soft.Role} (leader {soft.Leader}, term {node.Raft.Term})");
        }

        if (_faultsOn && _options.Crashes && _options.CrashAfterVoteRate > 0
            && ready.Messages.Any(m => m.Type == MessageType.VoteResponse && !m.Reject)
            && _random.NextDouble() < _options.CrashAfterVoteRate)
        {
            Schedule(0, new SimEvent(EventKind.Crash, node.Id, node.Incarnation));
        }
        else if (_faultsOn && _options.Partitions && _options.IsolateLeaderAfterCommitRate > 0
            && node.Raft.Role == RaftRole.Leader && ready.CommittedEntries.Count > 0
            && _random.NextDouble() < _options.IsolateLeaderAfterCommitRate)
        {
            Isolate(node, "right after it committed");
        }
        else if (_faultsOn && _options.Crashes && _options.CrashLeaderAfterCommitRate > 0
            && node.Raft.Role == RaftRole.Leader && ready.CommittedEntries.Count > 0
            && _random.NextDouble() < _options.CrashLeaderAfterCommitRate)
        {
            Schedule(0, new SimEvent(EventKind.Crash, node.Id, node.Incarnation));
        }
    }

    private void Schedule(long delay, SimEvent ev) => _events.Enqueue(ev, (_now + delay, _sequence++));

    private (SimEvent Event, long Time) Dequeue()
    {
        _events.TryDequeue(out var ev, out var priority);
        return (ev!, priority.Time);
    }

    private void Record(string line) => Trace.Record(_now, line);

    private SimulationFailureException Failure(SimulationFailureKind kind, string what) =>
        new(kind, _options.Seed, _now, what, Trace.Tail());

    private SimulationFailureException Failure(SimulationFailureKind kind, string what, Exception inner) =>
        new(kind, _options.Seed, _now, what, Trace.Tail(), inner);

    private enum EventKind
    {
        Tick,
        Deliver,
        Client,
        Nemesis,
        Crash,
        Restart,
        SendFailed,
        SnapshotDelivered,
    }

    private sealed record SimEvent(EventKind Kind, ulong Node, int Incarnation, Message? Message = null, ulong Peer = 0);
}
