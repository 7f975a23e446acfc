namespace KvStore.Storage.Lsm;

/// <summary>
/// The in-memory write buffer: a skiplist of internal keys (<see cref="InternalKeyComparer"/>
/// order) with their values. One writer at a time (the write-group leader) and any number of
/// lock-free readers: a node is fully built before it is published with a volatile write of
/// its predecessors' links, so a reader sees either the old list or the list with the node.
/// </summary>
/// <remarks>
/// Keys and values are copied into 32 KiB arena chunks, so an entry costs two small objects
/// (node and link array) rather than four, and the bytes of a memtable are freed together.
/// </remarks>
internal sealed class Memtable
{
    private const int MaxHeight = 12;
    private const int Branching = 4;
    private const int ChunkSize = 32 * 1024;
    private const int NodeOverhead = 64;

    private readonly Node _head = new([], 0, 0, 0, MaxHeight);
    private readonly Node[] _prev = new Node[MaxHeight];
    private int _height = 1;
    private uint _random = 0x9E3779B9;
    private byte[] _chunk = new byte[ChunkSize];
    private int _chunkUsed;
    private long _approximateBytes;
    private long _count;

    public Memtable(ulong logNumber) => LogNumber = logNumber;

    /// <summary>The WAL file receiving this memtable's writes (0 without a WAL).</summary>
    public ulong LogNumber { get; }

    /// <summary>Highest Raft applied index among the writes in this memtable (0 if none carried one).</summary>
    public long MaxAppliedIndex { get; private set; }

    /// <summary>Highest sequence number in this memtable (0 when empty).</summary>
    public ulong LastSequence { get; private set; }

    public long ApproximateBytes => Volatile.Read(ref _approximateBytes);

    public long Count => Volatile.Read(ref _count);

    public bool IsEmpty => Count == 0;

    public void NoteAppliedIndex(long appliedIndex) => MaxAppliedIndex = Math.Max(MaxAppliedIndex, appliedIndex);

    /// <summary>Adds one entry. Caller guarantees a single writer and that (key, sequence) is new.</summary>
    public void Add(ulong sequence, ValueKind kind, ReadOnlySpan<byte> userKey, ReadOnlySpan<byte> value)
    {
        int keyLength = InternalKey.EncodedLength(userKey.Length);
        int total = keyLength + value.Length;
        byte[] buffer;
        int offset;
        if (total > ChunkSize / 4)
        {
            buffer = new byte[total];
            offset = 0;
        }
        else
        {
            if (_chunkUsed + total > _chunk.Length)
            {
                _chunk = new byte[ChunkSize];
                _chunkUsed = 0;
            }

            buffer = _chunk;
            offset = _chunkUsed;
            _chunkUsed += total;
        }

        InternalKey.Encode(buffer.AsSpan(offset, keyLength), userKey, sequence, kind);
        value.CopyTo(buffer.AsSpan(offset + keyLength));

        Node[] prev = _prev;
        Node? next = FindGreaterOrEqual(buffer.AsSpan(offset, keyLength), prev);
        if (next != null && InternalKeyComparer.Compare(next.Key, buffer.AsSpan(offset, keyLength)) == 0)
        {
            throw new InvalidOperationException("memtable invariant violated: duplicate internal key");
        }

        int height = RandomHeight();
        if (height > _height)
        {
            for (int i = _height; i < height; i++)
            {
                prev[i] = _head;
            }

            // Readers that see the new height before the links find null at the head and drop a level.
            Volatile.Write(ref _height, height);
        }

        var node = new Node(buffer, offset, keyLength, value.Length, height);
        for (int i = 0; i < height; i++)
        {
            node.Next[i] = prev[i].Next[i];
        }

        for (int i = 0; i < height; i++)
        {
            Volatile.Write(ref prev[i].Next[i], node);
        }

        LastSequence = Math.Max(LastSequence, sequence);
        Volatile.Write(ref _count, _count + 1);
        Volatile.Write(ref _approximateBytes, _approximateBytes + total + NodeOverhead + (8 * height));
    }

    /// <summary>
    /// The newest entry for <paramref name="userKey"/> with sequence ≤ <paramref name="sequence"/>:
    /// true with its kind and value, false if this memtable holds no such entry.
    /// </summary>
    public bool TryGet(ReadOnlySpan<byte> userKey, ulong sequence, out ValueKind kind, out byte[] value)
    {
        int length = InternalKey.EncodedLength(userKey.Length);
        Span<byte> seek = length <= 256 ? stackalloc byte[length] : new byte[length];
        InternalKey.Encode(seek, userKey, sequence, ValueKind.Value);
        Node? node = FindGreaterOrEqual(seek, null);
        if (node != null && InternalKey.UserKey(node.Key).SequenceEqual(userKey))
        {
            kind = InternalKey.Kind(node.Key);
            value = kind == ValueKind.Value ? node.Value.ToArray() : [];
            return true;
        }

        kind = ValueKind.Deletion;
        value = [];
        return false;
    }

    public IInternalIterator NewIterator() => new MemtableIterator(this);

    internal Node? First() => Volatile.Read(ref _head.Next[0]);

    internal Node? FindGreaterOrEqual(ReadOnlySpan<byte> key, Node[]? prev)
    {
        Node x = _head;
        int level = Volatile.Read(ref _height) - 1;
        while (true)
        {
            Node? next = Volatile.Read(ref x.Next[level]);
            if (next != null && InternalKeyComparer.Compare(next.Key, key) < 0)
            {
                x = next;
                continue;
            }

            if (prev != null)
            {
                prev[level] = x;
            }

            if (level == 0)
            {
                return next;
            }

            level--;
        }
    }

    /// <summary>The last node with key &lt; <paramref name="key"/>, or null if there is none.</summary>
    internal Node? FindLessThan(ReadOnlySpan<byte> key)
    {
        Node x = _head;
        int level = Volatile.Read(ref _height) - 1;
        while (true)
        {
            Node? next = Volatile.Read(ref x.Next[level]);
            if (next != null && InternalKeyComparer.Compare(next.Key, key) < 0)
            {
                x = next;
                continue;
            }

            if (level == 0)
            {
                return ReferenceEquals(x, _head) ? null : x;
            }

            level--;
        }
    }

    internal Node? FindLast()
    {
        Node x = _head;
        int level = Volatile.Read(ref _height) - 1;
        while (true)
        {
            Node? next = Volatile.Read(ref x.Next[level]);
            if (next != null)
            {
                x = next;
                continue;
            }

            if (level == 0)
            {
                return ReferenceEquals(x, _head) ? null : x;
            }

            level--;
        }
    }

    private int RandomHeight()
    {
        int height = 1;
        while (height < MaxHeight && NextRandom() % Branching == 0)
        {
            height++;
        }

        return height;
    }

    private uint NextRandom()
    {
        // xorshift32: the writer is single-threaded, so no shared Random is needed.
        uint x = _random;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        _random = x;
        return x;
    }

    internal sealed class Node(byte[] buffer, int offset, int keyLength, int valueLength, int height)
    {
        public readonly Node?[] Next = new Node?[height];

        public ReadOnlySpan<byte> Key => buffer.AsSpan(offset, keyLength);

        public ReadOnlySpan<byte> Value => buffer.AsSpan(offset + keyLength, valueLength);
    }
}
