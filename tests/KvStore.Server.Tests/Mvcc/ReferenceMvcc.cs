using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using SortOrder = KvStore.Client.Protocol.Messages.RangeRequest.Types.SortOrder;
using SortTarget = KvStore.Client.Protocol.Messages.RangeRequest.Types.SortTarget;

namespace KvStore.Server.Tests.Mvcc;

/// <summary>
/// The simplest MVCC that can be right: every version of every key in one list, never deleted;
/// compaction only raises the revision below which reads fail. Written from etcd's documented
/// semantics, independently of the store's layout, to check the store's responses against.
/// </summary>
internal sealed class ReferenceMvcc
{
    private List<Version> _versions = [];

    public long Revision { get; private set; }

    public long Compacted { get; private set; }

    public IMessage Put(PutRequest r) => Mutate(() => PutCore(r, Revision + 1));

    public IMessage DeleteRange(DeleteRangeRequest r) => Mutate(() => DeleteCore(r, Revision + 1));

    public IMessage Txn(TxnRequest r) => Mutate(() =>
    {
        CheckTxn(r);
        return TxnCore(r, Revision + 1);
    });

    public IMessage Compact(CompactionRequest r)
    {
        if (r.Revision <= Compacted)
        {
            return Error(ErrorCode.Compacted);
        }

        if (r.Revision > Revision)
        {
            return Error(ErrorCode.FutureRevision);
        }

        Compacted = r.Revision;
        return new CompactionResponse { Header = new ResponseHeader { Revision = Revision } };
    }

    public IMessage Range(RangeRequest r)
    {
        try
        {
            return RangeCore(r, Revision, Revision, Revision);
        }
        catch (RefusedException e)
        {
            return Error(e.Code);
        }
    }

    public static Error Error(ErrorCode code) => new() { Code = code };

    private IMessage Mutate(Func<IMessage> body)
    {
        var before = _versions.ToList();
        try
        {
            IMessage response = body();
            if (_versions.Count > before.Count)
            {
                Revision++;
            }

            SetHeaders(response, Revision);
            return response;
        }
        catch (RefusedException e)
        {
            _versions = before;
            return Error(e.Code);
        }
    }

    private PutResponse PutCore(PutRequest r, long rev)
    {
        if (r.Key.IsEmpty || (r.IgnoreValue && !r.Value.IsEmpty) || (r.IgnoreLease && r.Lease != 0))
        {
            throw new RefusedException(ErrorCode.InvalidArgument);
        }

        KeyValue? prev = At(r.Key, rev);
        if (prev == null && (r.IgnoreValue || r.IgnoreLease))
        {
            throw new RefusedException(ErrorCode.KeyNotFound);
        }

        _versions.Add(new Version(r.Key, rev, false, prev?.CreateRevision ?? rev, (prev?.Version ?? 0) + 1,
            r.IgnoreLease ? prev!.Lease : r.Lease, r.IgnoreValue ? prev!.Value : r.Value));
        var response = new PutResponse();
        if (r.PrevKv && prev != null)
        {
            response.PrevKv = prev;
        }

        return response;
    }

    private DeleteRangeResponse DeleteCore(DeleteRangeRequest r, long rev)
    {
        if (r.Key.IsEmpty)
        {
            throw new RefusedException(ErrorCode.InvalidArgument);
        }

        List<KeyValue> live = Visible(rev).Where(kv => InRange(kv.Key, r.Key, r.RangeEnd)).ToList();
        foreach (KeyValue kv in live)
        {
            _versions.Add(new Version(kv.Key, rev, true, 0, 0, 0, ByteString.Empty));
        }

        var response = new DeleteRangeResponse { Deleted = live.Count };
        if (r.PrevKv)
        {
            response.PrevKvs.AddRange(live);
        }

        return response;
    }

    private TxnResponse TxnCore(TxnRequest r, long rev)
    {
        bool ok = r.Compare.All(c => Holds(c, rev));
        var response = new TxnResponse { Succeeded = ok };
        foreach (RequestOp op in ok ? r.Success : r.Failure)
        {
            response.Responses.Add(op.RequestCase switch
            {
                RequestOp.RequestOneofCase.RequestPut => new ResponseOp { ResponsePut = PutCore(op.RequestPut, rev) },
                RequestOp.RequestOneofCase.RequestDeleteRange => new ResponseOp { ResponseDeleteRange = DeleteCore(op.RequestDeleteRange, rev) },
                RequestOp.RequestOneofCase.RequestTxn => new ResponseOp { ResponseTxn = TxnCore(op.RequestTxn, rev) },
                _ => new ResponseOp { ResponseRange = RangeCore(op.RequestRange, rev, Revision, 0) },
            });
        }

        return response;
    }

    /// <param name="latest">The revision "newest" means (inside a txn: the txn's own).</param>
    /// <param name="committed">Past revisions above this are in the future.</param>
    private RangeResponse RangeCore(RangeRequest r, long latest, long committed, long header)
    {
        if (r.Key.IsEmpty || r.Limit < 0)
        {
            throw new RefusedException(ErrorCode.InvalidArgument);
        }

        long at = latest;
        if (r.Revision > 0)
        {
            if (r.Revision > committed)
            {
                throw new RefusedException(ErrorCode.FutureRevision);
            }

            if (r.Revision < Compacted)
            {
                throw new RefusedException(ErrorCode.Compacted);
            }

            at = r.Revision;
        }

        List<KeyValue> kvs = Visible(at).Where(kv => InRange(kv.Key, r.Key, r.RangeEnd)).ToList();
        var response = new RangeResponse { Header = new ResponseHeader { Revision = header }, Count = kvs.Count };
        if (r.CountOnly)
        {
            return response;
        }

        SortOrder order = r.SortOrder == SortOrder.None && r.SortTarget != SortTarget.Key ? SortOrder.Ascend : r.SortOrder;
        Comparison<KeyValue> compare = r.SortTarget switch
        {
            SortTarget.Version => (a, b) => a.Version.CompareTo(b.Version),
            SortTarget.Create => (a, b) => a.CreateRevision.CompareTo(b.CreateRevision),
            SortTarget.Mod => (a, b) => a.ModRevision.CompareTo(b.ModRevision),
            SortTarget.Value => (a, b) => a.Value.Span.SequenceCompareTo(b.Value.Span),
            _ => (a, b) => a.Key.Span.SequenceCompareTo(b.Key.Span),
        };

        // Stable sorts: ties stay in key order.
        if (order == SortOrder.Ascend)
        {
            kvs = kvs.OrderBy(kv => kv, Comparer<KeyValue>.Create(compare)).ToList();
        }
        else if (order == SortOrder.Descend)
        {
            kvs = kvs.OrderByDescending(kv => kv, Comparer<KeyValue>.Create(compare)).ToList();
        }

        if (r.Limit > 0 && kvs.Count > r.Limit)
        {
            kvs = kvs.Take((int)r.Limit).ToList();
            response.More = true;
        }

        foreach (KeyValue kv in kvs)
        {
            KeyValue shaped = kv.Clone();
            if (r.KeysOnly)
            {
                shaped.Value = ByteString.Empty;
            }

            response.Kvs.Add(shaped);
        }

        return response;
    }

    private bool Holds(Compare c, long rev)
    {
        List<KeyValue> kvs = c.RangeEnd.IsEmpty
            ? (At(c.Key, rev) is { } one ? [one] : [])
            : Visible(rev).Where(kv => InRange(kv.Key, c.Key, c.RangeEnd)).ToList();
        if (kvs.Count == 0)
        {
            if (c.Target == Compare.Types.CompareTarget.Value)
            {
                return false;
            }

            kvs = [new KeyValue()];
        }

        return kvs.All(kv =>
        {
            int cmp = c.Target switch
            {
                Compare.Types.CompareTarget.Version => kv.Version.CompareTo(c.Version),
                Compare.Types.CompareTarget.Create => kv.CreateRevision.CompareTo(c.CreateRevision),
                Compare.Types.CompareTarget.Mod => kv.ModRevision.CompareTo(c.ModRevision),
                Compare.Types.CompareTarget.Lease => kv.Lease.CompareTo(c.Lease),
                _ => Math.Sign(string.CompareOrdinal(Convert.ToHexString(kv.Value.Span), Convert.ToHexString(c.Value.Span))),
            };
            return c.Result switch
            {
                Compare.Types.CompareResult.Equal => cmp == 0,
                Compare.Types.CompareResult.NotEqual => cmp != 0,
                Compare.Types.CompareResult.Greater => cmp > 0,
                _ => cmp < 0,
            };
        });
    }

    /// <summary>etcd's static txn check, restated: within a branch, no two operations may write one key.</summary>
    private static void CheckTxn(TxnRequest r)
    {
        foreach (Compare c in r.Compare)
        {
            if (c.Key.IsEmpty)
            {
                throw new RefusedException(ErrorCode.InvalidArgument);
            }
        }

        Branch(r.Success);
        Branch(r.Failure);
    }

    private static (List<ByteString> Puts, List<(ByteString Key, ByteString End)> Deletes) Branch(IEnumerable<RequestOp> ops)
    {
        var units = new List<(List<ByteString> Puts, List<(ByteString, ByteString)> Deletes)>();
        foreach (RequestOp op in ops)
        {
            (List<ByteString>, List<(ByteString, ByteString)>) unit;
            switch (op.RequestCase)
            {
                case RequestOp.RequestOneofCase.RequestPut:
                    PutRequest p = op.RequestPut;
                    if (p.Key.IsEmpty || (p.IgnoreValue && !p.Value.IsEmpty) || (p.IgnoreLease && p.Lease != 0))
                    {
                        throw new RefusedException(ErrorCode.InvalidArgument);
                    }

                    unit = ([p.Key], []);
                    break;
                case RequestOp.RequestOneofCase.RequestDeleteRange:
                    if (op.RequestDeleteRange.Key.IsEmpty)
                    {
                        throw new RefusedException(ErrorCode.InvalidArgument);
                    }

                    unit = ([], [(op.RequestDeleteRange.Key, op.RequestDeleteRange.RangeEnd)]);
                    break;
                case RequestOp.RequestOneofCase.RequestTxn:
                    CheckTxn(op.RequestTxn);
                    var s = Branch(op.RequestTxn.Success);
                    var f = Branch(op.RequestTxn.Failure);
                    unit = ([.. s.Puts, .. f.Puts], [.. s.Deletes, .. f.Deletes]);
                    break;
                default:
                    if (op.RequestRange.Key.IsEmpty || op.RequestRange.Limit < 0)
                    {
                        throw new RefusedException(ErrorCode.InvalidArgument);
                    }

                    continue;
            }

            foreach (var other in units)
            {
                bool conflict = unit.Item1.Any(k => other.Puts.Contains(k) || other.Deletes.Any(d => InRange(k, d.Item1, d.Item2)))
                    || other.Puts.Any(k => unit.Item2.Any(d => InRange(k, d.Item1, d.Item2)));
                if (conflict)
                {
                    throw new RefusedException(ErrorCode.InvalidArgument);
                }
            }

            units.Add(unit);
        }

        return (units.SelectMany(u => u.Puts).ToList(), units.SelectMany(u => u.Deletes).ToList());
    }

    private static void SetHeaders(IMessage response, long rev)
    {
        switch (response)
        {
            case PutResponse p:
                p.Header = new ResponseHeader { Revision = rev };
                break;
            case DeleteRangeResponse d:
                d.Header = new ResponseHeader { Revision = rev };
                break;
            case RangeResponse r:
                r.Header = new ResponseHeader { Revision = rev };
                break;
            case TxnResponse t:
                t.Header = new ResponseHeader { Revision = rev };
                foreach (ResponseOp op in t.Responses)
                {
                    SetHeaders(op.ResponseCase switch
                    {
                        ResponseOp.ResponseOneofCase.ResponsePut => op.ResponsePut,
                        ResponseOp.ResponseOneofCase.ResponseDeleteRange => op.ResponseDeleteRange,
                        ResponseOp.ResponseOneofCase.ResponseTxn => op.ResponseTxn,
                        _ => op.ResponseRange,
                    }, rev);
                }

                break;
        }
    }

    /// <summary>etcd's range conventions, spelled out: empty end = the key alone, "\0" = every key ≥ key.</summary>
    public static bool InRange(ByteString k, ByteString key, ByteString end)
    {
        if (end.IsEmpty)
        {
            return k.Equals(key);
        }

        bool afterStart = k.Span.SequenceCompareTo(key.Span) >= 0;
        if (end.Length == 1 && end[0] == 0)
        {
            return afterStart;
        }

        return afterStart && k.Span.SequenceCompareTo(end.Span) < 0;
    }

    private KeyValue? At(ByteString key, long rev)
    {
        Version? v = _versions.LastOrDefault(v => v.Key.Equals(key) && v.Rev <= rev);
        return v == null || v.Tombstone ? null : v.ToKeyValue();
    }

    /// <summary>Live key-values at <paramref name="rev"/>, in key order.</summary>
    public List<KeyValue> Visible(long rev) => _versions
        .Where(v => v.Rev <= rev)
        .GroupBy(v => v.Key)
        .Select(g => g.Last())
        .Where(v => !v.Tombstone)
        .OrderBy(v => v.Key.ToByteArray(), Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b)))
        .Select(v => v.ToKeyValue())
        .ToList();

    /// <summary>Every change with revision in [from, to], in (revision, sub) order, as "rev/sub type kv" lines.</summary>
    public List<string> Events(long from, long to)
    {
        var lines = new List<string>();
        int sub = 0;
        long previousRevision = -1;
        foreach (Version v in _versions)
        {
            sub = v.Rev == previousRevision ? sub + 1 : 0;
            previousRevision = v.Rev;
            if (v.Rev >= from && v.Rev <= to)
            {
                KeyValue kv = v.Tombstone ? new KeyValue { Key = v.Key, ModRevision = v.Rev } : v.ToKeyValue();
                lines.Add($"{v.Rev}/{sub} {(v.Tombstone ? "Delete" : "Put")} {kv}");
            }
        }

        return lines;
    }

    private sealed record Version(ByteString Key, long Rev, bool Tombstone, long Create, long Ver, long Lease, ByteString Value)
    {
        public KeyValue ToKeyValue() => new() { Key = Key, CreateRevision = Create, ModRevision = Rev, Version = Ver, Lease = Lease, Value = Value };
    }

    private sealed class RefusedException(ErrorCode code) : Exception(code.ToString())
    {
        public ErrorCode Code { get; } = code;
    }
}
