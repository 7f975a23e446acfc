using System.Globalization;
using System.Text;
using KvStore.Raft.Core;
using KvStore.Raft.Tests.Core;

namespace KvStore.Raft.Tests.Scenarios;

/// <summary>
/// Executes the commands of a Raft transcript (in the spirit of etcd's raft testdata/*.txt) against a
/// <see cref="RaftTestCluster"/> and returns each command's output text. Output is fully deterministic:
/// node iteration is by id and every node's randomness comes from its seeded generator.
/// </summary>
/// <remarks>
/// Commands (ids are node ids; options are key=value):
/// <code>
/// add-nodes N [prevote=true] [checkquorum=true] [election=10] [heartbeat=1] [max-inflight=256] [max-size=B]
///             [max-uncommitted=B] [snapshot-chunk=B] [read-only=lease] [forwarding=false] [voters=1,2] [learners=3]
///             [empty=true]       the first call bootstraps the group; later nodes join from the same bootstrap
///                                configuration (or an empty one with empty=true)
/// campaign ID | propose ID DATA | read-index ID CTX | transfer-leadership LEADER TARGET
/// propose-conf-change ID v4 l5 r2 [joint=true] [autoleave=false]   (no changes: leave the joint config)
/// stabilize [ID...] | process-ready ID... | deliver-msgs ID... | drop ID... | drop ID index=N
/// tick ID N | tick-election ID... | tick-heartbeat ID...
/// partition 1 2 / 3 | isolate ID | heal | restart ID | compact ID INDEX
/// report-unreachable LEADER PEER | report-snapshot LEADER PEER [failed=true]
/// status [ID...] | raft-log ID | applied [ID...]
/// </code>
/// </remarks>
public sealed class TranscriptInterpreter
{
    private readonly RaftTestCluster _cluster = new();
    private ulong _nextId = 1;

    public string Execute(string commandLine)
    {
        var tokens = commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var command = tokens[0];
        var args = tokens.Skip(1).Where(t => !t.Contains('=')).ToList();
        var options = tokens.Skip(1).Where(t => t.Contains('=')).Select(t => t.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        var trace = new StringBuilder();
        _cluster.Trace = trace;
        try
        {
            switch (command)
            {
                case "add-nodes": AddNodes(int.Parse(args[0], CultureInfo.InvariantCulture), options, trace); break;
                case "campaign":
                    _cluster[Id(args[0])].Campaign();
                    trace.Append(Short(Id(args[0]))).Append('\n');
                    break;
                case "propose": Refusable(trace, () => _cluster[Id(args[0])].Propose(RaftTestCluster.Bytes(args[1]))); break;
                case "propose-conf-change": Refusable(trace, () => _cluster[Id(args[0])].ProposeConfChange(ParseConfChange(args.Skip(1), options))); break;
                case "read-index": Refusable(trace, () => _cluster[Id(args[0])].ReadIndex(RaftTestCluster.Bytes(args[1]))); break;
                case "transfer-leadership": Refusable(trace, () => _cluster[Id(args[0])].TransferLeadership(Id(args[1]))); break;
                case "stabilize": _cluster.Stabilize(args.Select(Id).ToList()); break;
                case "process-ready":
                    foreach (var id in args.Select(Id))
                    {
                        _cluster.HandleReady(id);
                    }
                    break;
                case "deliver-msgs":
                    foreach (var id in args.Select(Id))
                    {
                        _cluster.Deliver(id);
                    }
                    break;
                case "drop":
                    if (options.TryGetValue("index", out var position))
                    {
                        // drop 3 index=1: lose only the second message queued for node 3.
                        _cluster.DropOne(Id(args[0]), int.Parse(position, CultureInfo.InvariantCulture));
                        break;
                    }
                    foreach (var id in args.Select(Id))
                    {
                        _cluster.Drop(id);
                    }
                    break;
                case "tick": Ticks(trace, [Id(args[0])], int.Parse(args[1], CultureInfo.InvariantCulture)); break;
                case "tick-election": Ticks(trace, args.Select(Id), ticksOf: m => m.Config.ElectionTick); break;
                case "tick-heartbeat": Ticks(trace, args.Select(Id), ticksOf: m => m.Config.HeartbeatTick); break;
                case "partition":
                    var groups = string.Join(' ', args).Split('/').Select(g => g.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Id).ToList()).ToList();
                    for (int i = 0; i < groups.Count; i++)
                    {
                        for (int j = i + 1; j < groups.Count; j++)
                        {
                            _cluster.Partition(groups[i], groups[j]);
                        }
                    }
                    break;
                case "isolate": _cluster.Isolate(Id(args[0])); break;
                case "heal": _cluster.Heal(); break;
                case "compact":
                    var snap = _cluster.Compact(Id(args[0]), long.Parse(args[1], CultureInfo.InvariantCulture));
                    trace.Append($"{args[0]}: snapshot {snap.Metadata.Term}/{snap.Metadata.Index} {RaftText.Conf(snap.Metadata.ConfState)}, log now starts at {_cluster.Get(Id(args[0])).Storage.FirstIndex()}\n");
                    break;
                case "status":
                    foreach (var id in (args.Count > 0 ? args.Select(Id) : _cluster.Members.Keys))
                    {
                        trace.Append(RaftText.Status(_cluster[id].Status())).Append('\n');
                    }
                    break;
                case "raft-log": RaftLog(trace, Id(args[0])); break;
                case "applied":
                    foreach (var id in (args.Count > 0 ? args.Select(Id) : _cluster.Members.Keys))
                    {
                        trace.Append($"{id}: [{string.Join(" ", _cluster.AppliedData(id))}]\n");
                    }
                    break;
                case "restart":
                    _cluster.Restart(Id(args[0]));
                    trace.Append(Short(Id(args[0]))).Append('\n');
                    break;
                case "report-unreachable": _cluster[Id(args[0])].ReportUnreachable(Id(args[1])); break;
                case "report-snapshot": _cluster[Id(args[0])].ReportSnapshot(Id(args[1]), options.GetValueOrDefault("failed") == "true"); break;
                default: throw new FormatException($"unknown transcript command '{command}'");
            }
        }
        finally
        {
            _cluster.Trace = null;
        }
        var text = trace.ToString().TrimEnd('\n');
        return text.Length == 0 ? "ok" : text;
    }

    private static ulong Id(string s) => ulong.Parse(s, CultureInfo.InvariantCulture);

    private string Short(ulong id)
    {
        var n = _cluster[id];
        return $"{id}: {n.Role} term={n.Term} leader={n.Leader} commit={n.CommitIndex} last={n.LastIndex}";
    }

    private static void Refusable(StringBuilder trace, Action action)
    {
        try
        {
            action();
        }
        catch (ProposalDroppedException e)
        {
            trace.Append($"dropped: {e.Reason}\n");
        }
        catch (ArgumentException e)
        {
            trace.Append($"refused: {e.Message.Split(" (Parameter")[0]}\n");
        }
    }

    private void Ticks(StringBuilder trace, IEnumerable<ulong> ids, int fixedTicks = 0, Func<RaftTestCluster.Member, int>? ticksOf = null)
    {
        foreach (var id in ids)
        {
            var member = _cluster.Get(id);
            string before = Short(id);
            _cluster.Tick(id, ticksOf is null ? fixedTicks : ticksOf(member));
            string after = Short(id);
            if (before != after)
            {
                trace.Append($"{before}\n  -> {after}\n");
            }
        }
    }

    private void RaftLog(StringBuilder trace, ulong id)
    {
        var m = _cluster.Get(id);
        long first = m.Storage.FirstIndex();
        long last = m.Storage.LastIndex();
        trace.Append($"{id}: log [{first}, {last}] snapshot {m.Storage.Snapshot().Metadata.Term}/{m.Storage.Snapshot().Metadata.Index}\n");
        if (last >= first)
        {
            foreach (var e in m.Storage.Entries(first, last + 1, long.MaxValue))
            {
                trace.Append("  ").Append(RaftText.Entry(e)).Append('\n');
            }
        }
    }

    private static ConfChange ParseConfChange(IEnumerable<string> changes, Dictionary<string, string> options)
    {
        var list = changes.Select(c => new ConfChangeSingle(
            c[0] switch
            {
                'v' => ConfChangeType.AddVoter,
                'l' => ConfChangeType.AddLearner,
                'r' => ConfChangeType.RemoveNode,
                _ => throw new FormatException($"conf change '{c}': expected v<id>, l<id> or r<id>"),
            },
            Id(c[1..]))).ToList();
        return new ConfChange
        {
            Changes = list,
            UseJoint = options.GetValueOrDefault("joint") == "true",
            AutoLeave = options.GetValueOrDefault("autoleave", "true") == "true",
        };
    }

    private void AddNodes(int count, Dictionary<string, string> o, StringBuilder trace)
    {
        var ids = Enumerable.Range(0, count).Select(i => _nextId + (ulong)i).ToList();
        _nextId += (ulong)count;
        bool bootstrap = _cluster.Members.Count == 0;
        if (bootstrap)
        {
            _cluster.Bootstrap = new ConfState
            {
                Voters = o.TryGetValue("voters", out var v) ? v.Split(',').Select(Id).ToList() : ids,
                Learners = o.TryGetValue("learners", out var l) ? l.Split(',').Select(Id).ToList() : [],
            };
        }
        foreach (ulong id in ids)
        {
            var cfg = RaftTestCluster.DefaultConfig(id) with
            {
                PreVote = o.GetValueOrDefault("prevote") == "true",
                CheckQuorum = o.GetValueOrDefault("checkquorum") == "true",
                ElectionTick = int.Parse(o.GetValueOrDefault("election", "10"), CultureInfo.InvariantCulture),
                HeartbeatTick = int.Parse(o.GetValueOrDefault("heartbeat", "1"), CultureInfo.InvariantCulture),
                MaxInflightMessages = int.Parse(o.GetValueOrDefault("max-inflight", "256"), CultureInfo.InvariantCulture),
                MaxSizePerMessage = long.Parse(o.GetValueOrDefault("max-size", "1048576"), CultureInfo.InvariantCulture),
                MaxUncommittedEntriesSize = long.Parse(o.GetValueOrDefault("max-uncommitted", "0"), CultureInfo.InvariantCulture),
                SnapshotChunkSize = int.Parse(o.GetValueOrDefault("snapshot-chunk", "1048576"), CultureInfo.InvariantCulture),
                ReadOnlyOption = o.GetValueOrDefault("read-only") == "lease" ? ReadOnlyOption.LeaseBased : ReadOnlyOption.Safe,
                DisableProposalForwarding = o.GetValueOrDefault("forwarding") == "false",
            };
            _cluster.Add(cfg, bootstrap || o.GetValueOrDefault("empty") != "true" ? _cluster.Bootstrap : ConfState.Empty);
            trace.Append(Short(id)).Append(' ').Append(RaftText.Conf(_cluster[id].ConfState)).Append('\n');
        }
    }
}
