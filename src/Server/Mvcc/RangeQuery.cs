using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using SortOrder = KvStore.Client.Protocol.Messages.RangeRequest.Types.SortOrder;
using SortTarget = KvStore.Client.Protocol.Messages.RangeRequest.Types.SortTarget;

namespace KvStore.Server.Mvcc;

/// <summary>
/// The part of etcd's Range that is independent of storage: validation, limit and <c>more</c>,
/// count, keys-only, count-only and sorting, applied to the visible key-values in key order.
/// </summary>
/// <remarks>
/// etcd's conventions: a sort target other than KEY with order NONE sorts ascending; a sorted
/// range reads every key before the limit is applied. Ties are broken by key order (a stable
/// sort) so that every replica and every retry returns the same order.
/// </remarks>
internal static class RangeQuery
{
    public static void Validate(RangeRequest request)
    {
        if (request.Limit < 0)
        {
            throw new MvccException(ErrorCode.InvalidArgument, $"range: limit {request.Limit} is negative");
        }

        if (!Enum.IsDefined(request.SortOrder))
        {
            throw new MvccException(ErrorCode.InvalidArgument, $"range: sort order {(int)request.SortOrder} is unknown");
        }

        if (!Enum.IsDefined(request.SortTarget))
        {
            throw new MvccException(ErrorCode.InvalidArgument, $"range: sort target {(int)request.SortTarget} is unknown");
        }
    }

    public static RangeResponse Execute(RangeRequest request, IEnumerable<KeyValue> visible, long headerRevision)
    {
        var response = new RangeResponse { Header = new ResponseHeader { Revision = headerRevision } };
        SortOrder order = request.SortOrder;
        if (order == SortOrder.None && request.SortTarget != SortTarget.Key)
        {
            order = SortOrder.Ascend;
        }

        bool sorted = !(request.SortTarget == SortTarget.Key && order is SortOrder.None or SortOrder.Ascend);
        long limit = request.Limit;
        if (request.CountOnly)
        {
            response.Count = visible.LongCount();
            return response;
        }

        if (!sorted)
        {
            long count = 0;
            foreach (KeyValue kv in visible)
            {
                if (limit == 0 || count < limit)
                {
                    response.Kvs.Add(Shape(kv, request.KeysOnly));
                }

                count++;
            }

            response.Count = count;
            response.More = limit > 0 && count > limit;
            return response;
        }

        List<KeyValue> all = visible.ToList();
        IEnumerable<KeyValue> ordered = order == SortOrder.Descend
            ? OrderByTarget(all, request.SortTarget, descending: true)
            : OrderByTarget(all, request.SortTarget, descending: false);
        response.Count = all.Count;
        foreach (KeyValue kv in limit > 0 ? ordered.Take((int)Math.Min(limit, int.MaxValue)) : ordered)
        {
            response.Kvs.Add(Shape(kv, request.KeysOnly));
        }

        response.More = limit > 0 && all.Count > limit;
        return response;
    }

    private static IEnumerable<KeyValue> OrderByTarget(List<KeyValue> kvs, SortTarget target, bool descending) => target switch
    {
        SortTarget.Key => descending ? kvs.AsEnumerable().Reverse() : kvs,
        SortTarget.Version => descending ? kvs.OrderByDescending(kv => kv.Version) : kvs.OrderBy(kv => kv.Version),
        SortTarget.Create => descending ? kvs.OrderByDescending(kv => kv.CreateRevision) : kvs.OrderBy(kv => kv.CreateRevision),
        SortTarget.Mod => descending ? kvs.OrderByDescending(kv => kv.ModRevision) : kvs.OrderBy(kv => kv.ModRevision),
        _ => descending ? kvs.OrderByDescending(kv => kv.Value, ByteStringComparer.Instance) : kvs.OrderBy(kv => kv.Value, ByteStringComparer.Instance),
    };

    private static KeyValue Shape(KeyValue kv, bool keysOnly)
    {
        if (!keysOnly || kv.Value.IsEmpty)
        {
            return kv;
        }

        KeyValue copy = kv.Clone();
        copy.Value = ByteString.Empty;
        return copy;
    }

    private sealed class ByteStringComparer : IComparer<ByteString>
    {
        public static ByteStringComparer Instance { get; } = new();

        public int Compare(ByteString? x, ByteString? y) => (x ?? ByteString.Empty).Span.SequenceCompareTo((y ?? ByteString.Empty).Span);
    }
}
