using KvStore.Raft.Core;

namespace KvStore.Raft.Tests.Core;

/// <summary>
/// A small randomized exploration of the core under message loss, reordering, duplication, partitions,
/// restarts, compaction and membership changes, checking Raft's safety properties after every step:
/// Election Safety (one leader per term), State Machine Safety (no two nodes apply different commands at
/// one index) and Leader Completeness in the form "a committed entry never changes". The deterministic
/// simulator (raft-sim) explores far more; this catches core regressions close to the code.
/// </summary>
public sealed class RandomizedSafetyTests
{
    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        int count = int.TryParse(Environment.GetEnvironmentVariable("KVSTORE_RAFT_CORE_SEEDS"), out int n) ? n : 40;
        for (int seed = 1; seed <= count; seed++)
        {
            data.Add(seed);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void SafetyHoldsUnderRandomFaults(int seed)
    {
        var rng = new Random(seed);
        var c = new RaftTestCluster { Bootstrap = new ConfState { Voters = [1, 2, 3] } };
        for (ulong id = 1; id <= 5; id++)
        {
            c.Add(RaftTestCluster.DefaultConfig(id) with
            {
                PreVote = seed % 2 == 0,
                CheckQuorum = seed % 3 != 0,
                ElectionTick = 5,
                RandomSeed = (ulong)(seed * 31) + id,
                MaxInflightMessages = 4,
                MaxSizePerMessage = 200,
                SnapshotChunkSize = 16,
            }, c.Bootstrap);
        }
        var leaderOfTerm = new Dictionary<long, ulong>();
        var appliedAt = new Dictionary<long, string>();
        var committedTerm = new Dictionary<long, long>();
        int proposals = 0;
        for (int step = 0; step < 1500; step++)
        {
            ulong id = (ulong)rng.Next(1, 6);
            int action = rng.Next(100);
            if (action < 25)
            {
                c.Tick(id);
            }
            else if (action < 50)
            {
                c.HandleReady(id);
            }
            else if (action < 75)
            {
                var inbox = c.Get(id).Inbox;
                if (inbox.Count > 0)
                {
                    int pos = rng.Next(100) < 70 ? 0 : rng.Next(inbox.Count);
                    if (rng.Next(100) < 5)
                    {
                        inbox.Add(inbox[pos]); // duplicate
                    }
                    c.DeliverOne(id, pos);
                }
            }
            else if (action < 78)
            {
                var inbox = c.Get(id).Inbox;
                if (inbox.Count > 0)
                {
                    inbox.RemoveAt(rng.Next(inbox.Count));
                }
            }
            else if (action < 88)
            {
                var leader = c.Members.Values.FirstOrDefault(m => m.Node.Role == RaftRole.Leader);
                try
                {
                    (leader?.Node ?? c[id]).Propose(RaftTestCluster.Bytes($"s{seed}-p{proposals++}"));
                }
                catch (ProposalDroppedException)
                {
                }
            }
            else if (action < 90)
            {
                var leader = c.Members.Values.FirstOrDefault(m => m.Node.Role == RaftRole.Leader);
                if (leader is not null)
                {
                    ulong target = (ulong)rng.Next(2, 6);
                    var type = (ConfChangeType)rng.Next(3);
                    try
                    {
                        leader.Node.ProposeConfChange(new ConfChange { Changes = [new ConfChangeSingle(type, target)], UseJoint = rng.Next(4) == 0 });
                    }
                    catch (Exception e) when (e is ProposalDroppedException or ArgumentException)
                    {
                    }
                }
            }
            else if (action < 92)
            {
                c.Restart(id);
            }
            else if (action < 94)
            {
                var m = c.Get(id);
                long applied = m.Node.AppliedIndex;
                if (applied > m.Storage.Snapshot().Metadata.Index && rng.Next(2) == 0)
                {
                    c.Compact(id, applied);
                }
            }
            else if (action < 96)
            {
                c.Isolate(id);
            }
            else if (action < 98)
            {
                c.Heal();
            }
            else
            {
                var leader = c.Members.Values.FirstOrDefault(m => m.Node.Role == RaftRole.Leader);
                if (leader is not null)
                {
                    try
                    {
                        leader.Node.TransferLeadership(id);
                    }
                    catch (Exception e) when (e is ProposalDroppedException or ArgumentException)
                    {
                    }
                }
            }
            Check(c, leaderOfTerm, appliedAt, committedTerm, seed, step);
        }
        // Liveness after healing: a leader emerges and a new proposal commits everywhere it is a voter.
        c.Heal();
        foreach (var m in c.Members.Values)
        {
            m.Inbox.Clear();
        }
        string final = $"s{seed}-final";
        for (int round = 0; round < 300 && !c.Members.Values.Any(m => m.Node.Role == RaftRole.Leader && c.AppliedData(m.Node.Id).Contains(final)); round++)
        {
            c.TickAll();
            c.Stabilize();
            Check(c, leaderOfTerm, appliedAt, committedTerm, seed, -1);
            var leader = c.Members.Values.FirstOrDefault(m => m.Node.Role == RaftRole.Leader);
            // Re-proposed every few rounds: an accepted proposal may still be lost with a change of leader.
            if (leader is not null && round % 5 == 0)
            {
                try
                {
                    leader.Node.Propose(RaftTestCluster.Bytes(final));
                }
                catch (ProposalDroppedException)
                {
                }
            }
        }
        Assert.True(c.Members.Values.Any(m => m.Node.Role == RaftRole.Leader && c.AppliedData(m.Node.Id).Contains(final)),
            $"seed {seed}: after healing, no leader applied a new proposal\n" + string.Join("\n", c.Members.Values.Select(m => RaftText.Status(m.Node.Status()))));
    }

    private static void Check(RaftTestCluster c, Dictionary<long, ulong> leaderOfTerm, Dictionary<long, string> appliedAt,
        Dictionary<long, long> committedTerm, int seed, int step)
    {
        foreach (var m in c.Members.Values)
        {
            var node = m.Node;
            if (node.Role == RaftRole.Leader)
            {
                if (leaderOfTerm.TryGetValue(node.Term, out var other) && other != node.Id)
                {
                    Assert.Fail($"seed {seed} step {step}: two leaders in term {node.Term}: {other} and {node.Id}");
                }
                leaderOfTerm[node.Term] = node.Id;
            }
            foreach (var (index, data) in m.Applied)
            {
                if (appliedAt.TryGetValue(index, out var seen) && seen != data)
                {
                    Assert.Fail($"seed {seed} step {step}: node {node.Id} applied '{data}' at {index}, another node applied '{seen}'");
                }
                appliedAt[index] = data;
            }
            long first = m.Storage.FirstIndex();
            long commit = Math.Min(m.Storage.HardState.Commit, m.Storage.LastIndex());
            for (long i = Math.Max(first, commit - 5); i <= commit; i++)
            {
                long term = m.Storage.Term(i);
                if (committedTerm.TryGetValue(i, out long t) && t != term)
                {
                    Assert.Fail($"seed {seed} step {step}: committed entry {i} has term {t} elsewhere but {term} on node {node.Id}");
                }
                committedTerm[i] = term;
            }
        }
    }
}
