using KvStore.Client.Protocol.Messages;

namespace KvStore.Server.Mvcc;

/// <summary>
/// Checks a request before any of it runs, as etcd does: every operation of both branches (and of
/// nested transactions) must be well-formed, and no key may be written twice in one revision — no
/// two puts of one key, and no put of a key a delete of the same branch covers ("duplicate key
/// given in txn request"). Within one revision a key has at most one version (see
/// <see cref="MvccKeys"/>), which this check guarantees.
/// </summary>
internal static class TxnValidator
{
    public static void ValidatePut(PutRequest put)
    {
        if (put.Key.IsEmpty)
        {
            throw new MvccException(ErrorCode.InvalidArgument, "put: key is empty");
        }

        if (put.IgnoreValue && !put.Value.IsEmpty)
        {
            throw new MvccException(ErrorCode.InvalidArgument, "put: a value is given together with ignore_value");
        }

        if (put.IgnoreLease && put.Lease != 0)
        {
            throw new MvccException(ErrorCode.InvalidArgument, "put: a lease is given together with ignore_lease");
        }
    }

    public static void Validate(TxnRequest txn)
    {
        foreach (Compare compare in txn.Compare)
        {
            KeyRange.From(compare.Key, compare.RangeEnd, "txn compare");
            if (!Enum.IsDefined(compare.Target) || !Enum.IsDefined(compare.Result))
            {
                throw new MvccException(ErrorCode.InvalidArgument, $"txn compare: target {(int)compare.Target} or result {(int)compare.Result} is unknown");
            }

            if (compare.Target == Compare.Types.CompareTarget.Fence && !compare.RangeEnd.IsEmpty)
            {
                throw new MvccException(ErrorCode.InvalidArgument, "txn compare: a FENCE compare names one lock; range_end must be empty");
            }
        }

        CheckBranch(txn.Success);
        CheckBranch(txn.Failure);
    }

    /// <summary>
    /// Validates one branch; returns the keys it may put and the ranges it may delete. Each
    /// operation is a unit (a nested txn's two branches together form one: only one of them runs);
    /// two units of a branch conflict if both put a key or one puts a key the other deletes.
    /// </summary>
    private static (HashSet<byte[]> Puts, List<KeyRange> Deletes) CheckBranch(IEnumerable<RequestOp> ops)
    {
        var units = new List<(HashSet<byte[]> Puts, List<KeyRange> Deletes)>();
        foreach (RequestOp op in ops)
        {
            var puts = new HashSet<byte[]>(ByteKeyComparer.Instance);
            var deletes = new List<KeyRange>();
            switch (op.RequestCase)
            {
                case RequestOp.RequestOneofCase.RequestRange:
                    RangeQuery.Validate(op.RequestRange);
                    KeyRange.From(op.RequestRange.Key, op.RequestRange.RangeEnd, "txn range");
                    continue;
                case RequestOp.RequestOneofCase.RequestPut:
                    ValidatePut(op.RequestPut);
                    puts.Add(op.RequestPut.Key.ToByteArray());
                    break;
                case RequestOp.RequestOneofCase.RequestDeleteRange:
                    deletes.Add(KeyRange.From(op.RequestDeleteRange.Key, op.RequestDeleteRange.RangeEnd, "txn delete range"));
                    break;
                case RequestOp.RequestOneofCase.RequestTxn:
                    Validate(op.RequestTxn);
                    (HashSet<byte[]> successPuts, List<KeyRange> successDeletes) = CheckBranch(op.RequestTxn.Success);
                    (HashSet<byte[]> failurePuts, List<KeyRange> failureDeletes) = CheckBranch(op.RequestTxn.Failure);
                    puts.UnionWith(successPuts);
                    puts.UnionWith(failurePuts);
                    deletes.AddRange(successDeletes);
                    deletes.AddRange(failureDeletes);
                    break;
                default:
                    throw new MvccException(ErrorCode.InvalidArgument, "txn: an operation has no request");
            }

            foreach ((HashSet<byte[]> otherPuts, List<KeyRange> otherDeletes) in units)
            {
                if (puts.Overlaps(otherPuts) ||
                    puts.Any(k => otherDeletes.Any(d => d.Contains(k))) ||
                    otherPuts.Any(k => deletes.Any(d => d.Contains(k))))
                {
                    throw Duplicate();
                }
            }

            units.Add((puts, deletes));
        }

        var allPuts = new HashSet<byte[]>(units.SelectMany(u => u.Puts), ByteKeyComparer.Instance);
        return (allPuts, units.SelectMany(u => u.Deletes).ToList());
    }

    private static MvccException Duplicate() => new(ErrorCode.InvalidArgument, "txn: duplicate key given in txn request");
}
