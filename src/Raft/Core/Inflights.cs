namespace KvStore.Raft.Core;

/// <summary>
/// The Append messages sent to one follower and not yet acknowledged, as (last index, bytes)
/// pairs in send order. Bounds the pipeline by message count and by payload bytes so a slow
/// follower cannot make the leader buffer without limit.
/// </summary>
internal sealed class Inflights
{
    private readonly Queue<(long Index, long Bytes)> _queue = new();
    private long _lastIndex;

    public Inflights(int maxCount, long maxBytes)
    {
        if (maxCount <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxCount), maxCount, "MaxInflightMessages must be positive");
        }
        MaxCount = maxCount;
        MaxBytes = maxBytes;
    }

    public int MaxCount { get; }

    /// <summary>0 means no byte limit.</summary>
    public long MaxBytes { get; }

    public int Count => _queue.Count;

    public long Bytes { get; private set; }

    public bool Full => _queue.Count >= MaxCount || (MaxBytes > 0 && Bytes >= MaxBytes);

    public void Add(long index, long bytes)
    {
        // Invariant: indexes are sent in increasing order, and never past a full window.
        if (Full)
        {
            throw new InvalidOperationException($"inflight window is full ({Count} messages, {Bytes} bytes) yet another Append was sent");
        }
        if (_queue.Count > 0 && _lastIndex > index)
        {
            throw new InvalidOperationException($"inflight index {index} is below the last in flight {_lastIndex}");
        }
        _queue.Enqueue((index, bytes));
        _lastIndex = index;
        Bytes += bytes;
    }

    /// <summary>Frees every message whose last index is at most <paramref name="index"/> (acknowledged).</summary>
    public void FreeLE(long index)
    {
        while (_queue.Count > 0 && _queue.Peek().Index <= index)
        {
            Bytes -= _queue.Dequeue().Bytes;
        }
    }

    /// <summary>Frees the oldest message's slot (a heartbeat answer proves the follower is alive though an Append may be lost).</summary>
    public void FreeFirstOne()
    {
        if (_queue.Count > 0)
        {
            Bytes -= _queue.Dequeue().Bytes;
        }
    }

    public void Reset()
    {
        _queue.Clear();
        Bytes = 0;
    }

    public Inflights Clone()
    {
        var copy = new Inflights(MaxCount, MaxBytes);
        foreach (var item in _queue)
        {
            copy._queue.Enqueue(item);
        }
        copy.Bytes = Bytes;
        copy._lastIndex = _lastIndex;
        return copy;
    }
}
