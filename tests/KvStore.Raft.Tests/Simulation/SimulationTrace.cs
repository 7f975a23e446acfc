namespace KvStore.Raft.Tests.Simulation;

/// <summary>
/// The event log of one run: every event is folded into a 64-bit FNV-1a hash (two runs of one
/// seed must produce the same hash) and the most recent events are kept for failure messages.
/// </summary>
public sealed class SimulationTrace
{
    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;
    private const int Keep = 40;

    private readonly Queue<string> _recent = new();
    private ulong _hash = FnvOffset;

    public long Events { get; private set; }

    public ulong Hash => _hash;

    public void Record(long time, string line)
    {
        Events++;
        string stamped = $"{time,8} {line}";
        foreach (char c in stamped)
        {
            _hash = (_hash ^ c) * FnvPrime;
        }

        _hash = (_hash ^ '\n') * FnvPrime;
        if (_recent.Count == Keep)
        {
            _recent.Dequeue();
        }

        _recent.Enqueue(stamped);
    }

    /// <summary>The last events, oldest first, one per line.</summary>
    public string Tail() => string.Join(Environment.NewLine, _recent);
}
