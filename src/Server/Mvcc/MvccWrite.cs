using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using KvStore.Storage.Lsm;

namespace KvStore.Server.Mvcc;

/// <summary>
/// The mutations of one command, collected in one LSM <see cref="WriteBatch"/> and committed by
/// <see cref="MvccStore.Commit"/>. Every write of the command shares revision
/// <c>Base.Revision + 1</c> with increasing sub-indexes; a command that changes nothing leaves the
/// revision alone (etcd: a txn with only reads, a delete that matched no key).
/// Reads through it (compares, prev_kv, ranges inside a txn) see the command's earlier writes.
/// After an <see cref="MvccException"/> the write must be discarded: it may hold part of a txn.
/// </summary>
public sealed partial class MvccWrite
{
    private readonly SortedDictionary<byte[], KeyValue?> _overlay = new(ByteKeyComparer.Instance);
    private long _keyCountDelta;
    private long _compactedRevision;
    private int _sub;
    private bool _commandRun;

    internal MvccWrite(MvccStore store, MvccState baseState)
    {
        Store = store;
        Base = baseState;
        _compactedRevision = baseState.CompactedRevision;
    }

    public MvccStore Store { get; }

    /// <summary>The state this write started from.</summary>
    public MvccState Base { get; }

    /// <summary>The batch; the state machine adds its session bookkeeping to it so it commits atomically too.</summary>
    public WriteBatch Batch { get; } = new();

    /// <summary>Whether this command changed keys (and so bumps the revision).</summary>
    public bool HasChanges => _sub > 0;

    /// <summary>The revision after this write: the new one if anything changed.</summary>
    public long Revision => HasChanges ? Base.Revision + 1 : Base.Revision;

    private long WriteRevision => Base.Revision + 1;

    public PutResponse Put(PutRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        StartCommand();
        TxnValidator.ValidatePut(request);
        PutResponse response = PutCore(request);
        response.Header = Header();
        return response;
    }

    public DeleteRangeResponse DeleteRange(DeleteRangeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        StartCommand();
        DeleteRangeResponse response = DeleteRangeCore(request);
        response.Header = Header();
        return response;
    }

    public TxnResponse Txn(TxnRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        StartCommand();
        TxnValidator.Validate(request);
        TxnResponse response = TxnCore(request);
        SetHeaders(response, Revision);
        return response;
    }

    /// <summary>Reads inside a command: a range at the newest state (including this command's writes) or at a committed past revision.</summary>
    public RangeResponse Range(RangeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        RangeQuery.Validate(request);
        KeyRange range = KeyRange.From(request.Key, request.RangeEnd, "range");
        bool withValues = !request.CountOnly && (!request.KeysOnly || request.SortTarget == RangeRequest.Types.SortTarget.Value);
        if (request.Revision <= 0)
        {
            return RangeQuery.Execute(request, Latest(range, withValues), Revision);
        }

        if (request.Revision > Base.Revision)
        {
            throw MvccStore.FutureRevision(request.Revision, Base.Revision);
        }

        if (request.Revision < Base.CompactedRevision)
        {
            throw new MvccException(ErrorCode.Compacted, $"revision {request.Revision} has been compacted; the compacted revision is {Base.CompactedRevision}");
        }

        return RangeQuery.Execute(request, Store.Scan(range, request.Revision, withValues), Revision);
    }

    /// <summary>
    /// Compact(rev): reads below rev fail from now on. Per key, versions below rev are dropped
    /// except the newest one ≤ rev, which stays unless it is a tombstone below rev (nothing to
    /// read at rev then); events below rev are dropped. Done in this command's batch.
    /// </summary>
    public CompactionResponse Compact(CompactionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        StartCommand();
        long revision = request.Revision;
        if (revision <= Base.CompactedRevision)
        {
            throw new MvccException(ErrorCode.Compacted, $"compact: revision {revision} has been compacted; the compacted revision is {Base.CompactedRevision}");
        }

        if (revision > Base.Revision)
        {
            throw MvccStore.FutureRevision(revision, Base.Revision);
        }

        _compactedRevision = revision;
        byte[]? prefix = null;
        bool keptNewest = false;
        foreach ((byte[] key, byte[] value) in Store.RawRange([MvccKeys.VersionTag], MvccKeys.VersionsEnd))
        {
            int prefixLength = MvccKeys.VersionPrefixLength(key);
            if (prefix == null || prefixLength != prefix.Length || !key.AsSpan().StartsWith(prefix))
            {
                prefix = key[..prefixLength];
                keptNewest = false;
            }

            // Versions of one key arrive newest first, so the first one at or below rev is the newest ≤ rev.
            long versionRevision = MvccKeys.Revision(key);
            if (versionRevision > revision)
            {
                continue;
            }

            if (versionRevision == revision)
            {
                keptNewest = true;
                continue;
            }

            if (!keptNewest)
            {
                keptNewest = true;
                if (!VersionRecord.Decode(value, withValue: false).IsTombstone)
                {
                    continue;
                }
            }

            Batch.Delete(key);
        }

        foreach ((byte[] key, _) in Store.RawRange(MvccKeys.EventRevisionStart(0), MvccKeys.EventRevisionStart(revision)))
        {
            Batch.Delete(key);
        }

        return new CompactionResponse { Header = Header() };
    }

    /// <summary>Writes the counters into the batch and returns the state after the command.</summary>
    internal MvccState Finish(long appliedIndex)
    {
        if (HasChanges)
        {
            Batch.Put(MvccKeys.CurrentRevisionKey, MvccKeys.Int64Value(Revision));
        }

        if (_keyCountDelta != 0)
        {
            Batch.Put(MvccKeys.KeyCountKey, MvccKeys.Int64Value(Base.KeyCount + _keyCountDelta));
        }

        if (_compactedRevision != Base.CompactedRevision)
        {
            Batch.Put(MvccKeys.CompactedRevisionKey, MvccKeys.Int64Value(_compactedRevision));
        }

        if (appliedIndex != Base.AppliedIndex)
        {
            Batch.Put(MvccKeys.AppliedIndexKey, MvccKeys.Int64Value(appliedIndex));
        }

        return new MvccState(Revision, _compactedRevision, Base.KeyCount + _keyCountDelta, appliedIndex);
    }

    private ResponseHeader Header() => new() { Revision = Revision };

    /// <summary>One command per write: a second would reuse the revision for a key already written (one version per key per revision).</summary>
    private void StartCommand()
    {
        if (_commandRun)
        {
            throw new InvalidOperationException("an MvccWrite carries one command; begin a new write for the next");
        }

        _commandRun = true;
    }

    private PutResponse PutCore(PutRequest request)
    {
        if (request.Sequential && (request.IgnoreValue || request.IgnoreLease))
        {
            throw new MvccException(ErrorCode.InvalidArgument, "put: a sequential put writes a new key, so ignore_value/ignore_lease cannot apply");
        }

        byte[] key = request.Sequential ? NextSequentialKey(request.Key.ToByteArray()) : request.Key.ToByteArray();
        KeyValue? previous = Latest(key, withValue: request.PrevKv || request.IgnoreValue);
        if (previous == null && (request.IgnoreValue || request.IgnoreLease))
        {
            throw new MvccException(ErrorCode.KeyNotFound, $"put: key {Describe(key)} does not exist (ignore_value/ignore_lease need an existing key)");
        }

        if (!request.IgnoreLease && request.Lease != 0)
        {
            RequireLiveLease(request.Lease, "put");
        }

        var kv = new KeyValue
        {
            Key = request.Sequential ? ByteString.CopyFrom(key) : request.Key,
            CreateRevision = previous?.CreateRevision ?? WriteRevision,
            ModRevision = WriteRevision,
            Version = (previous?.Version ?? 0) + 1,
            Value = request.IgnoreValue ? previous!.Value : request.Value,
            Lease = request.IgnoreLease ? previous!.Lease : request.Lease,
        };
        var record = new VersionRecord(false, _sub, kv.CreateRevision, kv.Version, kv.Lease, kv.Value.Memory);
        Record(key, record, kv, eventType: 0);
        MoveAttachment(key, previous?.Lease ?? 0, kv.Lease);
        if (previous == null)
        {
            _keyCountDelta++;
        }

        var response = new PutResponse();
        if (request.Sequential)
        {
            response.Key = kv.Key;
        }

        if (request.PrevKv && previous != null)
        {
            response.PrevKv = previous;
        }

        return response;
    }

    private DeleteRangeResponse DeleteRangeCore(DeleteRangeRequest request)
    {
        KeyRange range = KeyRange.From(request.Key, request.RangeEnd, "delete range");
        List<KeyValue> doomed = Latest(range, withValues: request.PrevKv).ToList();
        var response = new DeleteRangeResponse { Deleted = doomed.Count };
        foreach (KeyValue kv in doomed)
        {
            byte[] key = kv.Key.ToByteArray();
            Record(key, VersionRecord.Tombstone(_sub), null, eventType: 1);
            MoveAttachment(key, kv.Lease, 0);
            _keyCountDelta--;
        }

        if (request.PrevKv)
        {
            response.PrevKvs.AddRange(doomed);
        }

        return response;
    }

    private TxnResponse TxnCore(TxnRequest request)
    {
        bool succeeded = request.Compare.All(Holds);
        var response = new TxnResponse { Succeeded = succeeded };
        foreach (RequestOp op in succeeded ? request.Success : request.Failure)
        {
            response.Responses.Add(op.RequestCase switch
            {
                RequestOp.RequestOneofCase.RequestRange => new ResponseOp { ResponseRange = Range(op.RequestRange) },
                RequestOp.RequestOneofCase.RequestPut => new ResponseOp { ResponsePut = PutCore(op.RequestPut) },
                RequestOp.RequestOneofCase.RequestDeleteRange => new ResponseOp { ResponseDeleteRange = DeleteRangeCore(op.RequestDeleteRange) },
                RequestOp.RequestOneofCase.RequestTxn => new ResponseOp { ResponseTxn = TxnCore(op.RequestTxn) },
                _ => throw new MvccException(ErrorCode.InvalidArgument, "txn: an operation has no request"),
            });
        }

        return response;
    }

    /// <summary>etcd's compare: every key in the range must satisfy it; a missing key compares as zeros (VALUE: fails).</summary>
    private bool Holds(Compare compare)
    {
        if (compare.Target == Compare.Types.CompareTarget.Fence)
        {
            // The lock's current token (0 when free) compares like a number: EQUAL T reads "NAME is held with token T".
            long token = Locks.LockTable.CurrentToken(this, compare.Key.ToByteArray());
            return Satisfies(compare.Result, token.CompareTo(compare.FencingToken));
        }

        KeyRange range = KeyRange.From(compare.Key, compare.RangeEnd, "compare");
        List<KeyValue> kvs = Latest(range, withValues: compare.Target == Compare.Types.CompareTarget.Value).ToList();
        if (kvs.Count == 0)
        {
            return compare.Target != Compare.Types.CompareTarget.Value && Satisfies(compare, new KeyValue());
        }

        return kvs.All(kv => Satisfies(compare, kv));
    }

    private static bool Satisfies(Compare compare, KeyValue kv)
    {
        int c = compare.Target switch
        {
            Compare.Types.CompareTarget.Version => kv.Version.CompareTo(compare.Version),
            Compare.Types.CompareTarget.Create => kv.CreateRevision.CompareTo(compare.CreateRevision),
            Compare.Types.CompareTarget.Mod => kv.ModRevision.CompareTo(compare.ModRevision),
            Compare.Types.CompareTarget.Value => kv.Value.Span.SequenceCompareTo(compare.Value.Span),
            Compare.Types.CompareTarget.Lease => kv.Lease.CompareTo(compare.Lease),
            _ => throw new MvccException(ErrorCode.InvalidArgument, $"txn: compare target {(int)compare.Target} is unknown"),
        };
        return Satisfies(compare.Result, c);
    }

    private static bool Satisfies(Compare.Types.CompareResult result, int c)
    {
        return result switch
        {
            Compare.Types.CompareResult.Equal => c == 0,
            Compare.Types.CompareResult.NotEqual => c != 0,
            Compare.Types.CompareResult.Greater => c > 0,
            Compare.Types.CompareResult.Less => c < 0,
            _ => throw new MvccException(ErrorCode.InvalidArgument, $"txn: compare result {(int)result} is unknown"),
        };
    }

    private void Record(byte[] key, VersionRecord record, KeyValue? kv, byte eventType)
    {
        Batch.Put(MvccKeys.VersionKey(key, WriteRevision), record.Encode());
        var eventValue = new byte[1 + key.Length];
        eventValue[0] = eventType;
        key.CopyTo(eventValue, 1);
        Batch.Put(MvccKeys.EventKey(WriteRevision, _sub), eventValue);
        _overlay[key] = kv;
        _sub++;
    }

    /// <summary>This command's changes, in key order (null = deleted).</summary>
    internal IEnumerable<KeyValuePair<byte[], KeyValue?>> Changes => _overlay;

    /// <summary>The newest version of <paramref name="key"/> as this command sees it (its own writes included), or null.</summary>
    internal KeyValue? LatestVisible(byte[] key, bool withValue) => Latest(key, withValue);

    private KeyValue? Latest(byte[] key, bool withValue)
    {
        if (_overlay.TryGetValue(key, out KeyValue? pending))
        {
            return pending;
        }

        if (!withValue)
        {
            return Store.TryGetLatestMetadata(key, out KeyValue kv) ? kv : null;
        }

        return Store.Get(key, Base.Revision, withValue);
    }

    /// <summary>The newest visible key-values in range: the committed state merged with this command's writes.</summary>
    private IEnumerable<KeyValue> Latest(KeyRange range, bool withValues)
    {
        if (range.IsSingleKey)
        {
            KeyValue? kv = Latest(range.Begin, withValues);
            return kv == null ? [] : [kv];
        }

        var pending = _overlay.Where(e => range.Contains(e.Key)).ToList();
        IEnumerable<KeyValue> committed = Store.Scan(range, Base.Revision, withValues);
        return pending.Count == 0 ? committed : Merge(committed, pending);
    }

    private static IEnumerable<KeyValue> Merge(IEnumerable<KeyValue> committed, List<KeyValuePair<byte[], KeyValue?>> pending)
    {
        int p = 0;
        foreach (KeyValue kv in committed)
        {
            ReadOnlySpan<byte> key = kv.Key.Span;
            while (p < pending.Count && pending[p].Key.AsSpan().SequenceCompareTo(kv.Key.Span) < 0)
            {
                if (pending[p].Value is { } added)
                {
                    yield return added;
                }

                p++;
            }

            if (p < pending.Count && pending[p].Key.AsSpan().SequenceEqual(kv.Key.Span))
            {
                if (pending[p].Value is { } replaced)
                {
                    yield return replaced;
                }

                p++;
                continue;
            }

            yield return kv;
        }

        for (; p < pending.Count; p++)
        {
            if (pending[p].Value is { } added)
            {
                yield return added;
            }
        }
    }

    private static void SetHeaders(TxnResponse response, long revision)
    {
        response.Header = new ResponseHeader { Revision = revision };
        foreach (ResponseOp op in response.Responses)
        {
            switch (op.ResponseCase)
            {
                case ResponseOp.ResponseOneofCase.ResponseRange:
                    op.ResponseRange.Header = new ResponseHeader { Revision = revision };
                    break;
                case ResponseOp.ResponseOneofCase.ResponsePut:
                    op.ResponsePut.Header = new ResponseHeader { Revision = revision };
                    break;
                case ResponseOp.ResponseOneofCase.ResponseDeleteRange:
                    op.ResponseDeleteRange.Header = new ResponseHeader { Revision = revision };
                    break;
                case ResponseOp.ResponseOneofCase.ResponseTxn:
                    SetHeaders(op.ResponseTxn, revision);
                    break;
            }
        }
    }

    private static string Describe(byte[] key) => ByteString.CopyFrom(key).ToStringUtf8() is { Length: <= 64 } text ? $"\"{text}\"" : $"of {key.Length} bytes";
}
