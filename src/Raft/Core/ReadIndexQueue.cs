using System.Buffers.Binary;

namespace KvStore.Raft.Core;

/// <summary>
/// Pending ReadIndex requests on a leader (dissertation §6.4). Each records the commit index when it
/// arrived; it is confirmed once a quorum acknowledges a heartbeat sent after it. Acknowledgements
/// are cumulative: confirming a request also confirms every request queued before it, which is what
/// lets one heartbeat round serve a whole batch of reads.
/// </summary>
/// <remarks>
/// Heartbeats carry an id the leader gives each request, never the requester's own context: contexts
/// of different nodes (or of one node before and after a restart) may be equal, and keying by them
/// merged two requests (one went unanswered) and let a delayed acknowledgement of an earlier heartbeat
/// confirm a later request, so a deposed leader could serve a stale read. Ids grow for the life of the
/// node and acknowledgements from older terms are dropped before they get here, so an acknowledgement
/// always belongs to a heartbeat sent after the request it confirms.
/// </remarks>
internal sealed class ReadIndexQueue
{
    internal sealed class Request
    {
        public required Message Message { get; init; }
        public required long Index { get; init; }
        public required ulong Id { get; init; }
        public HashSet<ulong> Acks { get; } = [];
    }

    private readonly Dictionary<ulong, Request> _pending = [];
    private readonly List<ulong> _order = [];

    public int Count => _order.Count;

    /// <summary>The heartbeat context that stands for request <paramref name="id"/>.</summary>
    public static byte[] Context(ulong id)
    {
        var context = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(context, id);
        return context;
    }

    /// <summary>Queues a request under the leader's id <paramref name="id"/>, which must be larger than every earlier one.</summary>
    public void Add(long index, Message message, ulong id)
    {
        if (_order.Count > 0 && id <= _order[^1])
        {
            throw new InvalidOperationException($"read request id {id} does not grow (last {_order[^1]})");
        }

        _pending[id] = new Request { Message = message, Index = index, Id = id };
        _order.Add(id);
    }

    /// <summary>Records an acknowledgement of the heartbeat carrying <paramref name="context"/>; returns who has acknowledged it.</summary>
    public HashSet<ulong>? Ack(ulong from, ReadOnlyMemory<byte> context)
    {
        if (!TryParse(context, out ulong id) || !_pending.TryGetValue(id, out var request))
        {
            return null;
        }

        request.Acks.Add(from);
        return request.Acks;
    }

    /// <summary>Removes and returns every request up to and including the one the heartbeat <paramref name="context"/> stands for.</summary>
    public List<Request> Advance(ReadOnlyMemory<byte> context)
    {
        int position = TryParse(context, out ulong id) ? _order.IndexOf(id) : -1;
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

    /// <summary>The heartbeat context of the newest pending request.</summary>
    public ReadOnlyMemory<byte>? LastContext() => _order.Count == 0 ? null : Context(_order[^1]);

    private static bool TryParse(ReadOnlyMemory<byte> context, out ulong id)
    {
        if (context.Length != 8)
        {
            id = 0;
            return false;
        }

        id = BinaryPrimitives.ReadUInt64LittleEndian(context.Span);
        return true;
    }
}
