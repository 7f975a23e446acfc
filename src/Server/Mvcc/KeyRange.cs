using Google.Protobuf;

namespace KvStore.Server.Mvcc;

/// <summary>
/// A key range in etcd's conventions: an empty range_end selects the key alone; range_end
/// "\0" selects every key ≥ key; otherwise [key, range_end). A range_end ≤ key selects nothing.
/// </summary>
public readonly record struct KeyRange
{
    private KeyRange(byte[] begin, byte[]? end, bool single)
    {
        Begin = begin;
        End = end;
        IsSingleKey = single;
    }

    public byte[] Begin { get; }

    /// <summary>Exclusive end; null means unbounded (or, with <see cref="IsSingleKey"/>, the key alone).</summary>
    public byte[]? End { get; }

    public bool IsSingleKey { get; }

    public bool IsEmpty => End != null && End.AsSpan().SequenceCompareTo(Begin) <= 0;

    /// <summary>Validates and builds a range; an empty key is refused as etcd does ("key is not provided").</summary>
    public static KeyRange From(ByteString key, ByteString rangeEnd, string what)
    {
        if (key.IsEmpty)
        {
            throw new MvccException(Client.Protocol.Messages.ErrorCode.InvalidArgument, $"{what}: key is empty");
        }

        byte[] begin = key.ToByteArray();
        if (rangeEnd.IsEmpty)
        {
            return new KeyRange(begin, null, single: true);
        }

        if (rangeEnd.Length == 1 && rangeEnd[0] == 0)
        {
            return new KeyRange(begin, null, single: false);
        }

        return new KeyRange(begin, rangeEnd.ToByteArray(), single: false);
    }

    public static KeyRange Single(byte[] key) => new(key, null, single: true);

    public bool Contains(ReadOnlySpan<byte> key)
    {
        if (IsSingleKey)
        {
            return key.SequenceEqual(Begin);
        }

        return key.SequenceCompareTo(Begin) >= 0 && (End == null || key.SequenceCompareTo(End) < 0);
    }

    /// <summary>Whether two ranges share a key (used for etcd's txn put/delete overlap check).</summary>
    public bool Overlaps(KeyRange other)
    {
        if (IsEmpty || other.IsEmpty)
        {
            return false;
        }

        if (IsSingleKey)
        {
            return other.Contains(Begin);
        }

        if (other.IsSingleKey)
        {
            return Contains(other.Begin);
        }

        bool thisStartsBeforeOtherEnds = other.End == null || Begin.AsSpan().SequenceCompareTo(other.End) < 0;
        bool otherStartsBeforeThisEnds = End == null || other.Begin.AsSpan().SequenceCompareTo(End) < 0;
        return thisStartsBeforeOtherEnds && otherStartsBeforeThisEnds;
    }
}
