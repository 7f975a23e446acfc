using KvStore.Raft.Core;

namespace KvStore.Raft.Tests.Simulation;

/// <summary>
/// The simulated network between nodes: decides, from the run's random stream, whether each
/// message is dropped, duplicated or held back (reordered), and keeps the set of cut links
/// (one-way cuts model asymmetric partitions). Delivery times are in virtual time units.
/// </summary>
internal sealed class SimulatedNetwork(Random random)
{
    private readonly HashSet<(ulong From, ulong To)> _cut = [];
    private readonly Dictionary<(ulong From, ulong To), long> _lastDelivery = [];

    public double DropRate { get; set; }

    public double DuplicateRate { get; set; }

    public double ReorderRate { get; set; }

    public int MinDelay { get; set; } = 2;

    public int MaxDelay { get; set; } = 30;

    public bool IsCut(ulong from, ulong to) => _cut.Contains((from, to));

    public void Cut(ulong from, ulong to) => _cut.Add((from, to));

    public void Heal() => _cut.Clear();

    public IEnumerable<(ulong From, ulong To)> CutLinks => _cut;

    /// <summary>
    /// Delivery times for one send: none when dropped, two when duplicated. A link is FIFO like a TCP
    /// connection, except for messages picked for reordering, which are held back and overtaken.
    /// </summary>
    public IEnumerable<long> DeliveryTimes(Message m, long now)
    {
        if (IsCut(m.From, m.To) || random.NextDouble() < DropRate)
        {
            yield break;
        }

        yield return DeliveryTime(m, now);
        if (random.NextDouble() < DuplicateRate)
        {
            yield return DeliveryTime(m, now);
        }
    }

    private long DeliveryTime(Message m, long now)
    {
        long at = now + random.Next(MinDelay, MaxDelay + 1);
        if (random.NextDouble() < ReorderRate)
        {
            // Held back by up to a few ticks: later messages on the link overtake it.
            return at + random.Next(50, 400);
        }

        var link = (m.From, m.To);
        if (_lastDelivery.TryGetValue(link, out long previous) && previous > at)
        {
            at = previous;
        }

        _lastDelivery[link] = at;
        return at;
    }
}
