using System.Collections.Concurrent;

namespace KvStore.Jepsen.Faults;

/// <summary>
/// The faults of every directed peer link, keyed by (from node id, to node id). Shared by all
/// proxies of a cluster; read on every frame, so lookups are lock-free.
/// </summary>
public sealed class LinkFaultTable
{
    private readonly ConcurrentDictionary<(ulong From, ulong To), LinkFault> _faults = new();
    private readonly Random _random;
    private readonly object _randomLock = new();

    public LinkFaultTable(int seed) => _random = new Random(seed);

    public LinkFault Get(ulong from, ulong to) => _faults.TryGetValue((from, to), out LinkFault fault) ? fault : LinkFault.None;

    public void Set(ulong from, ulong to, LinkFault fault)
    {
        if (fault.IsNone)
        {
            _faults.TryRemove((from, to), out _);
        }
        else
        {
            _faults[(from, to)] = fault;
        }
    }

    /// <summary>Heals every link.</summary>
    public void Clear() => _faults.Clear();

    /// <summary>The links that currently have a fault.</summary>
    public IReadOnlyDictionary<(ulong From, ulong To), LinkFault> Snapshot() => new Dictionary<(ulong, ulong), LinkFault>(_faults);

    /// <summary>Decides whether one frame on <paramref name="from"/> to <paramref name="to"/> is discarded.</summary>
    public bool ShouldDrop(LinkFault fault)
    {
        if (fault.Cut)
        {
            return true;
        }

        if (fault.DropProbability <= 0)
        {
            return false;
        }

        lock (_randomLock)
        {
            return _random.NextDouble() < fault.DropProbability;
        }
    }
}
