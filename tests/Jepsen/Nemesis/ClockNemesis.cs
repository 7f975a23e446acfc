using System.Globalization;
using KvStore.Jepsen.Cluster;

namespace KvStore.Jepsen.Nemesis;

/// <summary>
/// Clock faults through each node's fault-injection control file: the wall clock set seconds to a
/// minute off, the clocks run at half to twice real speed, or both, on one node, a minority or the
/// leader. Healing puts them back on true time. A fast leader's clock shortens its election timeout
/// and heartbeats; a slow follower's stretches them; an offset leader stamps commands with a wrong time.
/// </summary>
public sealed class ClockNemesis : INemesis
{
    private static readonly double[] Rates = [0.5, 0.75, 1.5, 2.0];

    public string Name => "clock";

    public async Task<IActiveFault?> InjectAsync(ClusterUnderTest cluster, Random random, CancellationToken cancellationToken)
    {
        if (await NodeChoice.PickAsync(cluster, random, cancellationToken).ConfigureAwait(false) is not { } pick)
        {
            return null;
        }

        int kind = random.Next(3);
        var faults = new List<string>();
        foreach (NodeUnderTest node in pick.Nodes)
        {
            TimeSpan offset = kind == 1 ? TimeSpan.Zero : TimeSpan.FromSeconds((random.Next(2) == 0 ? -1 : 1) * random.Next(1, 61));
            double rate = kind == 0 ? 1.0 : Rates[random.Next(Rates.Length)];
            cluster.SetClock(node, offset, rate);
            faults.Add(string.Create(CultureInfo.InvariantCulture, $"{node} {offset.TotalSeconds:+0;-0} s x{rate:0.##}"));
        }

        return new Skewed(cluster, pick.Nodes, $"clock {string.Join(", ", faults)} ({pick.How})");
    }

    private sealed class Skewed(ClusterUnderTest cluster, IReadOnlyList<NodeUnderTest> nodes, string description) : IActiveFault
    {
        public string Description => description;

        public Task HealAsync(CancellationToken cancellationToken)
        {
            foreach (NodeUnderTest node in nodes)
            {
                cluster.SetClock(node, TimeSpan.Zero, 1.0);
            }

            return Task.CompletedTask;
        }
    }
}
