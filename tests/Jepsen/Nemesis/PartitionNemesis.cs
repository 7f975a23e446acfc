using KvStore.Jepsen.Cluster;
using KvStore.Jepsen.Faults;

namespace KvStore.Jepsen.Nemesis;

/// <summary>
/// Network faults through the proxies: one node alone, random halves, majorities ring (5 nodes or
/// more), bridge, the leader alone, the leader cut one way (it hears the others, they do not hear
/// it), and lossy links (a share of frames dropped and the rest delayed, in every direction).
/// </summary>
public sealed class PartitionNemesis : INemesis
{
    private static readonly LinkFault Cut = new(Cut: true, 0, TimeSpan.Zero);

    public string Name => "partition";

    public async Task<IActiveFault?> InjectAsync(ClusterUnderTest cluster, Random random, CancellationToken cancellationToken)
    {
        IReadOnlyList<NodeUnderTest> nodes = cluster.Nodes;
        int n = nodes.Count;
        List<NodeUnderTest> shuffled = nodes.OrderBy(_ => random.Next()).ToList();
        int variant = random.Next(7);
        if (variant == 2 && n < 5)
        {
            // On three nodes every node's ring neighbours are all the others: no partition at all.
            variant = 3;
        }

        switch (variant)
        {
            case 0:
                return Apply(cluster, Isolate(nodes, shuffled[0]), $"isolate {shuffled[0]}");
            case 1:
            {
                var half = shuffled.Take(n / 2).ToHashSet();
                return Apply(cluster, Symmetric(nodes, (a, b) => half.Contains(a) == half.Contains(b)),
                    $"halves {{{string.Join(",", half.OrderBy(x => x.Name))}}} | {{{string.Join(",", nodes.Except(half))}}}");
            }

            case 2:
            {
                // Each node sees its two ring neighbours, so each sees a majority, and no two see the same one.
                List<NodeUnderTest> ring = shuffled;
                return Apply(cluster, Symmetric(nodes, (a, b) =>
                {
                    int d = Math.Abs(ring.IndexOf(a) - ring.IndexOf(b));
                    return Math.Min(d, n - d) <= 1;
                }), $"majorities ring {string.Join("-", ring)}");
            }

            case 3:
            {
                // Two halves that share one node, the bridge, which alone talks to everybody.
                NodeUnderTest bridge = shuffled[0];
                var left = shuffled.Skip(1).Take((n - 1) / 2).ToHashSet();
                return Apply(cluster, Symmetric(nodes, (a, b) => a == bridge || b == bridge || left.Contains(a) == left.Contains(b)),
                    $"bridge {bridge} between {{{string.Join(",", left)}}} and {{{string.Join(",", nodes.Except(left).Where(x => x != bridge))}}}");
            }

            case 4 or 5:
            {
                NodeUnderTest? leader = await cluster.FindLeaderAsync(cancellationToken).ConfigureAwait(false);
                if (leader is null)
                {
                    return null;
                }

                if (variant == 4)
                {
                    return Apply(cluster, Isolate(nodes, leader), $"isolate {leader} (the leader)");
                }

                var cuts = nodes.Where(x => x != leader).Select(x => (leader.Id, x.Id, Cut)).ToList();
                return Apply(cluster, cuts, $"cut {leader} (the leader) -> others, one way");
            }

            default:
            {
                var lossy = new LinkFault(false, 0.3, TimeSpan.FromMilliseconds(20 + random.Next(80)));
                var all = nodes.SelectMany(a => nodes.Where(b => b != a).Select(b => (a.Id, b.Id, lossy))).ToList();
                return Apply(cluster, all, $"lossy links: {lossy} on every link");
            }
        }
    }

    private static List<(ulong From, ulong To, LinkFault Fault)> Isolate(IReadOnlyList<NodeUnderTest> nodes, NodeUnderTest alone) =>
        Symmetric(nodes, (a, b) => (a == alone) == (b == alone));

    /// <summary>Cuts both directions between every pair that may not talk.</summary>
    private static List<(ulong From, ulong To, LinkFault Fault)> Symmetric(IReadOnlyList<NodeUnderTest> nodes, Func<NodeUnderTest, NodeUnderTest, bool> mayTalk) =>
        nodes.SelectMany(a => nodes.Where(b => b != a && !mayTalk(a, b)).Select(b => (a.Id, b.Id, Cut))).ToList();

    private static Partitioned Apply(ClusterUnderTest cluster, List<(ulong From, ulong To, LinkFault Fault)> links, string description)
    {
        foreach ((ulong from, ulong to, LinkFault fault) in links)
        {
            cluster.Faults.Set(from, to, fault);
        }

        return new Partitioned(cluster, links, description);
    }

    private sealed class Partitioned(ClusterUnderTest cluster, List<(ulong From, ulong To, LinkFault Fault)> links, string description) : IActiveFault
    {
        public string Description => description;

        public Task HealAsync(CancellationToken cancellationToken)
        {
            foreach ((ulong from, ulong to, _) in links)
            {
                cluster.Faults.Set(from, to, LinkFault.None);
            }

            return Task.CompletedTask;
        }
    }
}
