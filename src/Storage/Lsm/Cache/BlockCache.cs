using System.Diagnostics.CodeAnalysis;
using KvStore.Storage.Lsm.Table;

namespace KvStore.Storage.Lsm.Cache;

/// <summary>
/// Table blocks kept in memory, shared by every table of a database: a least-recently-used
/// cache bounded by bytes (block size plus <see cref="Block.CacheOverhead"/> per entry).
/// Split into 16 shards, each with its own lock and a sixteenth of the capacity, so
/// concurrent readers rarely wait for each other. Keyed by (table file number, block offset):
/// file numbers are never reused, so a deleted table's blocks simply age out.
/// The cache holds one reference on each block it keeps (see <see cref="Block"/>) and drops
/// it on eviction, so a block's buffer is recycled once no reader uses it either.
/// Thread-safe.
/// </summary>
public sealed class BlockCache
{
    private const int ShardBits = 4;
    private const int ShardCount = 1 << ShardBits;

    private readonly Shard[] _shards = new Shard[ShardCount];

    public BlockCache(long capacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacityBytes);
        CapacityBytes = capacityBytes;
        long perShard = (capacityBytes + ShardCount - 1) / ShardCount;
        for (int i = 0; i < ShardCount; i++)
        {
            _shards[i] = new Shard(perShard);
        }
    }

    public long CapacityBytes { get; }

    /// <summary>Lookups that found their block.</summary>
    public long Hits => Sum(static s => s.Hits);

    /// <summary>Lookups that did not (each followed by a read from the file).</summary>
    public long Misses => Sum(static s => s.Misses);

    /// <summary>Bytes charged for the blocks held now; never above <see cref="CapacityBytes"/> (rounded up to a multiple of 16).</summary>
    public long UsageBytes => Sum(static s => s.Usage);

    public int Count => (int)Sum(static s => s.Count);

    /// <summary>Drops every block of one table (for example when the table file is deleted), returning their memory at once.</summary>
    public void EvictFile(ulong fileNumber)
    {
        foreach (var shard in _shards)
        {
            shard.EvictFile(fileNumber);
        }
    }

    /// <summary>Finds a block and takes a reference on it for the caller, who must <see cref="Block.Release"/> it.</summary>
    internal bool TryGet(ulong fileNumber, long offset, [NotNullWhen(true)] out Block? block) =>
        ShardFor(fileNumber, offset).TryGet(new CacheKey(fileNumber, offset), out block);

    /// <summary>
    /// Adds a block (replacing one cached under the same key), evicting the least recently used
    /// to stay within capacity. The cache takes its own reference; the caller keeps theirs.
    /// </summary>
    internal void Insert(ulong fileNumber, long offset, Block block) =>
        ShardFor(fileNumber, offset).Insert(new CacheKey(fileNumber, offset), block);

    /// <summary>The blocks held now (tests check their reference counts).</summary>
    internal List<Block> SnapshotBlocks()
    {
        var blocks = new List<Block>();
        foreach (var shard in _shards)
        {
            shard.CollectBlocks(blocks);
        }

        return blocks;
    }

    private Shard ShardFor(ulong fileNumber, long offset)
    {
        ulong h = (fileNumber * 0x9E3779B97F4A7C15) ^ (ulong)offset;
        h *= 0xBF58476D1CE4E5B9;
        return _shards[h >> (64 - ShardBits)];
    }

    private long Sum(Func<Shard, long> read)
    {
        long total = 0;
        foreach (var shard in _shards)
        {
            total += read(shard);
        }

        return total;
    }

    private readonly record struct CacheKey(ulong FileNumber, long Offset);

    /// <summary>A node of a shard's recency list; the list is circular around a sentinel.</summary>
    private sealed class Node(CacheKey key, Block? block)
    {
        public CacheKey Key { get; } = key;

        public Block? Block { get; } = block;

        public long Charge { get; } = block?.Charge ?? 0;

        public Node Previous { get; set; } = null!;

        public Node Next { get; set; } = null!;
    }

    private sealed class Shard
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<CacheKey, Node> _map = [];
        private readonly Node _head = new(default, null); // _head.Next is the most recently used
        private readonly long _capacity;
        private long _usage;
        private long _hits;
        private long _misses;

        public Shard(long capacity)
        {
            _capacity = capacity;
            _head.Previous = _head;
            _head.Next = _head;
        }

        public long Hits => Volatile.Read(ref _hits);

        public long Misses => Volatile.Read(ref _misses);

        public long Usage => Volatile.Read(ref _usage);

        public long Count
        {
            get
            {
                lock (_lock)
                {
                    return _map.Count;
                }
            }
        }

        public bool TryGet(CacheKey key, [NotNullWhen(true)] out Block? block)
        {
            lock (_lock)
            {
                if (_map.TryGetValue(key, out var node))
                {
                    Unlink(node);
                    LinkFirst(node);
                    _hits++;
                    block = node.Block!;
                    block.AddReference(); // under the lock: the cache's own reference keeps the count above zero
                    return true;
                }

                _misses++;
                block = null;
                return false;
            }
        }

        public void Insert(CacheKey key, Block block)
        {
            long charge = block.Charge;
            lock (_lock)
            {
                if (_map.Remove(key, out var old))
                {
                    Drop(old);
                }

                if (charge > _capacity)
                {
                    return; // would evict everything and still not fit
                }

                while (_usage + charge > _capacity)
                {
                    Node victim = _head.Previous;
                    _map.Remove(victim.Key);
                    Drop(victim);
                }

                block.AddReference();
                var node = new Node(key, block);
                _map.Add(key, node);
                LinkFirst(node);
                _usage += charge;
            }
        }

        public void CollectBlocks(List<Block> blocks)
        {
            lock (_lock)
            {
                for (Node node = _head.Next; node != _head; node = node.Next)
                {
                    blocks.Add(node.Block!);
                }
            }
        }

        public void EvictFile(ulong fileNumber)
        {
            lock (_lock)
            {
                for (Node node = _head.Next; node != _head;)
                {
                    Node next = node.Next;
                    if (node.Key.FileNumber == fileNumber)
                    {
                        _map.Remove(node.Key);
                        Drop(node);
                    }

                    node = next;
                }
            }
        }

        /// <summary>Unlinks a node already removed from the map and releases the cache's reference on its block.</summary>
        private void Drop(Node node)
        {
            Unlink(node);
            _usage -= node.Charge;
            node.Block!.Release();
        }

        private static void Unlink(Node node)
        {
            node.Previous.Next = node.Next;
            node.Next.Previous = node.Previous;
        }

        private void LinkFirst(Node node)
        {
            node.Next = _head.Next;
            node.Previous = _head;
            _head.Next.Previous = node;
            _head.Next = node;
        }
    }
}
