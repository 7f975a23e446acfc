using Google.Protobuf;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Server.Tests.Mvcc;

/// <summary>
/// Random etcd requests over a tiny key space (so keys collide, versions pile up and txns hit
/// duplicate keys), with keys holding 0x00 and 0xFF bytes to exercise the key escaping.
/// </summary>
internal sealed class KvRequestGenerator(Random random)
{
    private static readonly byte[][] Keys =
    [
        [(byte)'a'], [(byte)'a', 0], [(byte)'a', 0, 1], [(byte)'a', (byte)'b'], [(byte)'b'],
        [(byte)'b', 0xFF], [(byte)'c'], [(byte)'c', (byte)'c'], [0x01], [0xFF, 0xFF],
    ];

    private readonly Random _random = random;

    public ByteString Key() => ByteString.CopyFrom(Keys[_random.Next(Keys.Length)]);

    /// <summary>A range end: empty (one key), "\0" (from key), a prefix end or any key.</summary>
    public ByteString RangeEnd(ByteString key) => _random.Next(5) switch
    {
        0 => ByteString.Empty,
        1 => ByteString.CopyFrom(0),
        2 => PrefixEnd(key),
        _ => Key(),
    };

    public PutRequest Put()
    {
        var put = new PutRequest
        {
            Key = _random.Next(60) == 0 ? ByteString.Empty : Key(),
            Value = ByteString.CopyFrom(Enumerable.Range(0, _random.Next(4)).Select(_ => (byte)_random.Next(3)).ToArray()),
            Lease = _random.Next(4) == 0 ? _random.Next(1, 3) : 0,
            PrevKv = _random.Next(2) == 0,
        };
        if (_random.Next(8) == 0)
        {
            put.IgnoreValue = true;
            put.Value = _random.Next(4) == 0 ? put.Value : ByteString.Empty;
        }

        if (_random.Next(8) == 0)
        {
            put.IgnoreLease = true;
            put.Lease = _random.Next(4) == 0 ? put.Lease : 0;
        }

        return put;
    }

    public DeleteRangeRequest Delete()
    {
        ByteString key = Key();
        return new DeleteRangeRequest { Key = key, RangeEnd = RangeEnd(key), PrevKv = _random.Next(2) == 0 };
    }

    public RangeRequest Range(long compacted, long current)
    {
        ByteString key = _random.Next(60) == 0 ? ByteString.Empty : Key();
        return new RangeRequest
        {
            Key = key,
            RangeEnd = RangeEnd(key),
            Limit = _random.Next(40) == 0 ? -1 : _random.Next(4),
            Revision = _random.Next(2) == 0 ? 0 : _random.NextInt64(Math.Max(0, compacted - 2), current + 3),
            SortOrder = (RangeRequest.Types.SortOrder)_random.Next(3),
            SortTarget = _random.Next(2) == 0 ? RangeRequest.Types.SortTarget.Key : (RangeRequest.Types.SortTarget)_random.Next(5),
            KeysOnly = _random.Next(4) == 0,
            CountOnly = _random.Next(6) == 0,
        };
    }

    public TxnRequest Txn(long compacted, long current, int depth = 0)
    {
        var txn = new TxnRequest();
        for (int i = _random.Next(3); i > 0; i--)
        {
            txn.Compare.Add(Compare(current));
        }

        AddOps(txn.Success, compacted, current, depth);
        AddOps(txn.Failure, compacted, current, depth);
        return txn;
    }

    public CompactionRequest Compact(long compacted, long current) =>
        new() { Revision = _random.NextInt64(Math.Max(0, compacted - 1), current + 2) };

    private Compare Compare(long current)
    {
        ByteString key = Key();
        var compare = new Compare
        {
            Key = key,
            RangeEnd = _random.Next(3) == 0 ? RangeEnd(key) : ByteString.Empty,
            Result = (Compare.Types.CompareResult)_random.Next(4),
            Target = (Compare.Types.CompareTarget)_random.Next(5),
        };
        switch (compare.Target)
        {
            case Client.Protocol.Messages.Compare.Types.CompareTarget.Version:
                compare.Version = _random.Next(4);
                break;
            case Client.Protocol.Messages.Compare.Types.CompareTarget.Create:
                compare.CreateRevision = _random.NextInt64(0, current + 2);
                break;
            case Client.Protocol.Messages.Compare.Types.CompareTarget.Mod:
                compare.ModRevision = _random.NextInt64(0, current + 2);
                break;
            case Client.Protocol.Messages.Compare.Types.CompareTarget.Value:
                compare.Value = ByteString.CopyFrom(Enumerable.Range(0, _random.Next(3)).Select(_ => (byte)_random.Next(3)).ToArray());
                break;
            default:
                compare.Lease = _random.Next(3);
                break;
        }

        return compare;
    }

    private void AddOps(Google.Protobuf.Collections.RepeatedField<RequestOp> ops, long compacted, long current, int depth)
    {
        for (int i = _random.Next(4); i > 0; i--)
        {
            int kind = _random.Next(depth < 2 ? 10 : 9);
            ops.Add(kind switch
            {
                < 4 => new RequestOp { RequestPut = Put() },
                < 6 => new RequestOp { RequestDeleteRange = Delete() },
                < 9 => new RequestOp { RequestRange = Range(compacted, current) },
                _ => new RequestOp { RequestTxn = Txn(compacted, current, depth + 1) },
            });
        }
    }

    private static ByteString PrefixEnd(ByteString key)
    {
        byte[] end = key.ToByteArray();
        for (int i = end.Length - 1; i >= 0; i--)
        {
            if (end[i] != 0xFF)
            {
                end[i]++;
                return ByteString.CopyFrom(end.AsSpan(0, i + 1));
            }
        }

        return ByteString.CopyFrom(0);
    }
}
