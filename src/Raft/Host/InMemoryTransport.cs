using System.Collections.Concurrent;
using KvStore.Raft.Core;

namespace KvStore.Raft.Host;

/// <summary>
/// Connects several <see cref="RaftHost"/>s in one process (tests and benchmarks). Messages are
/// handed over as objects, without encoding. Links can be cut one way or both ways and batches
/// dropped at random, to test behaviour under partitions.
/// </summary>
public sealed class InMemoryTransport
{
    private readonly ConcurrentDictionary<ulong, Endpoint> _endpoints = new();
    private readonly ConcurrentDictionary<(ulong From, ulong To), bool> _blocked = new();
    private readonly object _randomLock = new();
    private readonly Random _random;
    private double _dropRate;
    private long _delivered;
    private long _dropped;

    public InMemoryTransport(int seed = 0)
    {
        _random = new Random(seed);
    }

    /// <summary>Batches delivered to a receiver so far.</summary>
    public long DeliveredBatches => Interlocked.Read(ref _delivered);

    /// <summary>Batches dropped (blocked link, random drop, unknown or closed peer) so far.</summary>
    public long DroppedBatches => Interlocked.Read(ref _dropped);

    /// <summary>Probability in [0, 1] that a batch is lost.</summary>
    public double DropRate
    {
        get => Volatile.Read(ref _dropRate);
        set => Volatile.Write(ref _dropRate, Math.Clamp(value, 0, 1));
    }

    /// <summary>The endpoint of node <paramref name="node"/>; one per node.</summary>
    public IRaftTransport Connect(ulong node)
    {
        var endpoint = new Endpoint(this, node);
        if (!_endpoints.TryAdd(node, endpoint))
        {
            throw new InvalidOperationException($"node {node} is already connected to this transport");
        }

        return endpoint;
    }

    /// <summary>Stops delivery from <paramref name="from"/> to <paramref name="to"/> (one way).</summary>
    public void Block(ulong from, ulong to) => _blocked[(from, to)] = true;

    /// <summary>Cuts both directions between two nodes.</summary>
    public void Partition(ulong a, ulong b)
    {
        Block(a, b);
        Block(b, a);
    }

    /// <summary>Cuts <paramref name="node"/> off from every other connected node.</summary>
    public void Isolate(ulong node)
    {
        foreach (ulong other in _endpoints.Keys)
        {
            if (other != node)
            {
                Partition(node, other);
            }
        }
    }

    /// <summary>Restores every link and stops random drops.</summary>
    public void Heal()
    {
        _blocked.Clear();
        DropRate = 0;
    }

    private void Deliver(ulong from, ulong to, IReadOnlyList<Message> batch)
    {
        if (_blocked.ContainsKey((from, to)) || !_endpoints.TryGetValue(to, out var target) || ShouldDrop())
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        var receiver = target.Receiver;
        if (receiver is null)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        Interlocked.Increment(ref _delivered);
        receiver(batch);
    }

    private bool ShouldDrop()
    {
        double rate = DropRate;
        if (rate <= 0)
        {
            return false;
        }

        lock (_randomLock)
        {
            return _random.NextDouble() < rate;
        }
    }

    private void Disconnect(ulong node) => _endpoints.TryRemove(node, out _);

    private sealed class Endpoint(InMemoryTransport hub, ulong node) : IRaftTransport
    {
        private Action<IReadOnlyList<Message>>? _receiver;

        public ulong LocalNode => node;

        public Action<IReadOnlyList<Message>>? Receiver => Volatile.Read(ref _receiver);

        public void Send(ulong toNode, IReadOnlyList<Message> batch) => hub.Deliver(node, toNode, batch);

        public void SetReceiver(Action<IReadOnlyList<Message>> receiver) => Volatile.Write(ref _receiver, receiver);

        public void Dispose()
        {
            Volatile.Write(ref _receiver, null);
            hub.Disconnect(node);
        }
    }
}
