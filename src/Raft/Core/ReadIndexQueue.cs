namespace KvStore.Raft.Core;

/// <summary>
/// Pending ReadIndex requests on a leader (dissertation §6.4). Each records the commit index when it
/// arrived; it is confirmed once a quorum acknowledges a heartbeat sent after it. Acknowledgements
/// are cumulative: confirming a request also confirms every request queued before it, which is what
/// lets one heartbeat round serve a whole batch of reads.
/// </summary>
internal sealed class ReadIndexQueue
{
    internal sealed class Request
    {
        public required Message Message { get; init; }
        public required long Index { get; init; }
        public HashSet<ulong> Acks { get; } = [];
    }

    private readonly Dictionary<string, Request> _pending = [];
    private readonly List<string> _order = [];

    public int Count => _order.Count;

    public static string Key(ReadOnlyMemory<byte> context) => Convert.ToHexString(context.Span);

    /// <summary>Queues a request; a second request with the same context is merged into the first.</summary>
    public void Add(long index, Message message)
    {
        string key = Key(message.Payload);
        if (_pending.ContainsKey(key))
        {
            return;
        }
        _pending[key] = new Request { Message = message, Index = index };
        _order.Add(key);
    }

    /// <summary>Records an acknowledgement of the heartbeat carrying <paramref name="context"/>; returns who has acknowledged it.</summary>
    public HashSet<ulong>? Ack(ulong from, ReadOnlyMemory<byte> context)
    {
        if (!_pending.TryGetValue(Key(context), out var request))
        {
            return null;
        }
        request.Acks.Add(from);
        return request.Acks;
    }

    /// <summary>Removes and returns every request up to and including the one with <paramref name="context"/>.</summary>
    public List<Request> Advance(ReadOnlyMemory<byte> context)
    {
        string key = Key(context);
        int position = _order.IndexOf(key);
        if (position < 0)
        {
            return [];
        }
        var done = new List<Request>(position + 1);
        for (int i = 0; i <= position; i++)
        {
            done.Add(_pending[_order[i]]);
            _pending.Remove(_order[i]);
        }
        _order.RemoveRange(0, position + 1);
        return done;
    }

    public ReadOnlyMemory<byte>? LastContext() => _order.Count == 0 ? null : _pending[_order[^1]].Message.Payload;
}
