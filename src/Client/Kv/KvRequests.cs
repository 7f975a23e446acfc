using Google.Protobuf;
using Wire = KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>Builds the wire requests from the SDK's options and converts the responses back.</summary>
internal static class KvRequests
{
    public static Wire.PutRequest Put(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, PutOptions? options)
    {
        RequireKey(key);
        return new Wire.PutRequest
        {
            Key = ByteString.CopyFrom(key.Span),
            Value = ByteString.CopyFrom(value.Span),
            PrevKv = options?.PrevKv ?? false,
            Lease = options?.Lease ?? 0,
            Sequential = options?.Sequential ?? false,
        };
    }

    public static Wire.RangeRequest Get(ReadOnlyMemory<byte> key, GetOptions? options)
    {
        RequireKey(key);
        return new Wire.RangeRequest
        {
            Key = ByteString.CopyFrom(key.Span),
            Serializable = options?.Serializable ?? false,
            Revision = options?.Revision ?? 0,
        };
    }

    public static Wire.RangeRequest Range(RangeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Key.IsEmpty && !options.Prefix)
        {
            throw new ArgumentException("a range needs a key (or Prefix with an empty key for every key)", nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(options.Limit, nameof(options.Limit));
        ArgumentOutOfRangeException.ThrowIfNegative(options.Revision, nameof(options.Revision));
        var (key, end) = Bounds(options.Key, options.RangeEnd, options.Prefix);
        return new Wire.RangeRequest
        {
            Key = key,
            RangeEnd = end,
            Limit = options.Limit,
            Revision = options.Revision,
            Serializable = options.Serializable,
            KeysOnly = options.KeysOnly,
            CountOnly = options.CountOnly,
            SortOrder = (Wire.RangeRequest.Types.SortOrder)options.SortOrder,
            SortTarget = (Wire.RangeRequest.Types.SortTarget)options.SortTarget,
        };
    }

    public static Wire.DeleteRangeRequest Delete(ReadOnlyMemory<byte> key, DeleteOptions? options)
    {
        bool prefix = options?.Prefix ?? false;
        if (!prefix)
        {
            RequireKey(key);
        }

        var (start, end) = Bounds(key, options?.RangeEnd ?? default, prefix);
        return new Wire.DeleteRangeRequest { Key = start, RangeEnd = end, PrevKv = options?.PrevKv ?? false };
    }

    public static PutResult ToResult(Wire.PutResponse response) =>
        new(KvResponseHeader.FromMessage(response.Header), response.PrevKv is null ? null : KvPair.FromMessage(response.PrevKv))
        {
            Key = response.Key.IsEmpty ? null : response.Key.ToByteArray(),
        };

    public static RangeResult ToResult(Wire.RangeResponse response) =>
        new(KvResponseHeader.FromMessage(response.Header), response.Kvs.Select(KvPair.FromMessage).ToArray(), response.More, response.Count);

    public static DeleteResult ToResult(Wire.DeleteRangeResponse response) =>
        new(KvResponseHeader.FromMessage(response.Header), response.Deleted, response.PrevKvs.Select(KvPair.FromMessage).ToArray());

    /// <summary>
    /// Key and range end on the wire. An empty prefix means every key: etcd's convention is key "\0"
    /// with range end "\0" (every key >= the smallest key).
    /// </summary>
    private static (ByteString Key, ByteString End) Bounds(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> rangeEnd, bool prefix)
    {
        if (prefix)
        {
            return key.IsEmpty
                ? (ByteString.CopyFrom(0), ByteString.CopyFrom(0))
                : (ByteString.CopyFrom(key.Span), ByteString.CopyFrom(KeyRanges.PrefixEnd(key.Span)));
        }

        return (ByteString.CopyFrom(key.Span), ByteString.CopyFrom(rangeEnd.Span));
    }

    private static void RequireKey(ReadOnlyMemory<byte> key)
    {
        if (key.IsEmpty)
        {
            throw new ArgumentException("the key must not be empty", nameof(key));
        }
    }
}
