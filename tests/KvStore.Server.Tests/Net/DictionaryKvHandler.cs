using Google.Protobuf;
using KvStore.Client;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;
using Compare = KvStore.Client.Protocol.Messages.Compare;
using KeyValue = KvStore.Client.Protocol.Messages.KeyValue;
using KvStore.Server.Net;

namespace KvStore.Server.Tests.Net;

/// <summary>
/// A small in-memory key-value store behind the real listener, enough to check that every
/// message kind travels both ways intact. Key "boom" makes a put throw; key "not-leader" makes a
/// range answer NOT_LEADER; key "error-message" makes a range answer with an Error message.
/// </summary>
internal sealed class DictionaryKvHandler : IRequestHandler
{
    public const string LeaderHint = "10.0.0.7:2379";

    private readonly object _lock = new();
    private readonly SortedDictionary<string, KeyValue> _data = new(StringComparer.Ordinal);
    private readonly List<Member> _members = [new Member { Id = 1, Name = "n1", PeerUrls = { "127.0.0.1:2380" } }];
    private long _revision = 1;
    private long _compacted;

    /// <summary>Connections that sent a StatusRequest, so a test can push to them.</summary>
    public List<ClientConnection> StatusCallers { get; } = [];

    public ValueTask<IMessage> HandleAsync(FrameType type, IMessage request, RequestContext context, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(Handle(request, context));
        }
    }

    private IMessage Handle(IMessage request, RequestContext context) => request switch
    {
        RangeRequest range => Range(range),
        PutRequest put => Put(put),
        DeleteRangeRequest delete => Delete(delete),
        TxnRequest txn => Txn(txn),
        CompactionRequest compaction => Compact(compaction),
        StatusRequest => Status(context),
        MemberListRequest => new MemberListResponse { Header = Header(), Members = { _members } },
        MemberAddRequest add => AddMember(add),
        MemberRemoveRequest remove => RemoveMember(remove),
        MemberPromoteRequest promote => PromoteMember(promote),
        _ => throw new InvalidOperationException($"unexpected {request.GetType().Name}"),
    };

    private ResponseHeader Header() => new() { ClusterId = 42, MemberId = 1, Revision = _revision, RaftTerm = 3 };

    private IEnumerable<string> KeysIn(ByteString key, ByteString rangeEnd)
    {
        string start = key.ToStringUtf8();
        if (rangeEnd.IsEmpty)
        {
            return _data.ContainsKey(start) ? [start] : [];
        }

        string end = rangeEnd.ToStringUtf8();
        return _data.Keys.Where(k => string.CompareOrdinal(k, start) >= 0 && (end == "\0" || string.CompareOrdinal(k, end) < 0)).ToList();
    }

    private IMessage Range(RangeRequest range)
    {
        switch (range.Key.ToStringUtf8())
        {
            case "not-leader":
                throw new NotLeaderException("member 1 is a follower", LeaderHint);
            case "error-message":
                return Error.Create(ErrorCode.Unavailable, "no quorum");
        }

        if (range.Revision > _revision)
        {
            throw new KvStoreProtocolException(ErrorCode.FutureRevision, $"revision {range.Revision} is newer than {_revision}");
        }

        var keys = KeysIn(range.Key, range.RangeEnd).ToList();
        var response = new RangeResponse { Header = Header(), Count = keys.Count };
        if (range.CountOnly)
        {
            return response;
        }

        var selected = range.Limit > 0 ? keys.Take((int)range.Limit).ToList() : keys;
        response.More = selected.Count < keys.Count;
        foreach (var key in selected)
        {
            var kv = _data[key].Clone();
            if (range.KeysOnly)
            {
                kv.Value = ByteString.Empty;
            }

            response.Kvs.Add(kv);
        }

        return response;
    }

    private PutResponse Put(PutRequest put)
    {
        if (put.Key.ToStringUtf8() == "boom")
        {
            throw new InvalidOperationException("disk on fire");
        }

        string key = put.Key.ToStringUtf8();
        _data.TryGetValue(key, out var previous);
        _revision++;
        _data[key] = new KeyValue
        {
            Key = put.Key,
            Value = put.Value,
            Lease = put.Lease,
            CreateRevision = previous?.CreateRevision ?? _revision,
            ModRevision = _revision,
            Version = (previous?.Version ?? 0) + 1,
        };
        return new PutResponse { Header = Header(), PrevKv = put.PrevKv ? previous : null };
    }

    private DeleteRangeResponse Delete(DeleteRangeRequest delete)
    {
        var keys = KeysIn(delete.Key, delete.RangeEnd).ToList();
        var response = new DeleteRangeResponse { Deleted = keys.Count };
        if (keys.Count > 0)
        {
            _revision++;
        }

        foreach (var key in keys)
        {
            if (delete.PrevKv)
            {
                response.PrevKvs.Add(_data[key]);
            }

            _data.Remove(key);
        }

        response.Header = Header();
        return response;
    }

    private TxnResponse Txn(TxnRequest txn)
    {
        bool succeeded = txn.Compare.All(Holds);
        var response = new TxnResponse { Succeeded = succeeded };
        foreach (var op in succeeded ? txn.Success : txn.Failure)
        {
            response.Responses.Add(op.RequestCase switch
            {
                RequestOp.RequestOneofCase.RequestRange => new ResponseOp { ResponseRange = (RangeResponse)Range(op.RequestRange) },
                RequestOp.RequestOneofCase.RequestPut => new ResponseOp { ResponsePut = Put(op.RequestPut) },
                RequestOp.RequestOneofCase.RequestDeleteRange => new ResponseOp { ResponseDeleteRange = Delete(op.RequestDeleteRange) },
                RequestOp.RequestOneofCase.RequestTxn => new ResponseOp { ResponseTxn = Txn(op.RequestTxn) },
                _ => throw new KvStoreProtocolException(ErrorCode.InvalidArgument, "empty request op"),
            });
        }

        response.Header = Header();
        return response;
    }

    private bool Holds(Compare compare)
    {
        _data.TryGetValue(compare.Key.ToStringUtf8(), out var kv);
        int order = compare.Target switch
        {
            Compare.Types.CompareTarget.Version => (kv?.Version ?? 0).CompareTo(compare.Version),
            Compare.Types.CompareTarget.Create => (kv?.CreateRevision ?? 0).CompareTo(compare.CreateRevision),
            Compare.Types.CompareTarget.Mod => (kv?.ModRevision ?? 0).CompareTo(compare.ModRevision),
            Compare.Types.CompareTarget.Value => string.CompareOrdinal(kv?.Value.ToStringUtf8() ?? string.Empty, compare.Value.ToStringUtf8()),
            Compare.Types.CompareTarget.Lease => (kv?.Lease ?? 0).CompareTo(compare.Lease),
            _ => throw new KvStoreProtocolException(ErrorCode.InvalidArgument, $"compare target {compare.Target} is not supported here"),
        };
        return compare.Result switch
        {
            Compare.Types.CompareResult.Equal => order == 0,
            Compare.Types.CompareResult.NotEqual => order != 0,
            Compare.Types.CompareResult.Greater => order > 0,
            Compare.Types.CompareResult.Less => order < 0,
            _ => false,
        };
    }

    private CompactionResponse Compact(CompactionRequest compaction)
    {
        if (compaction.Revision > _revision)
        {
            throw new KvStoreProtocolException(ErrorCode.FutureRevision, $"cannot compact to {compaction.Revision}: current revision is {_revision}");
        }

        if (compaction.Revision <= _compacted)
        {
            throw new KvStoreProtocolException(ErrorCode.Compacted, $"revision {compaction.Revision} is already compacted (at {_compacted})");
        }

        _compacted = compaction.Revision;
        return new CompactionResponse { Header = Header() };
    }

    private StatusResponse Status(RequestContext context)
    {
        StatusCallers.Add(context.Connection);
        return new StatusResponse
        {
            Header = Header(),
            Name = "n1",
            Version = "test",
            Leader = 1,
            IsLeader = true,
            RaftTerm = 3,
            RaftCommitIndex = (ulong)_revision,
            RaftAppliedIndex = (ulong)_revision,
            DbSizeBytes = _data.Count,
        };
    }

    private MemberAddResponse AddMember(MemberAddRequest add)
    {
        var member = new Member { Id = (ulong)_members.Count + 1, Name = add.Name, PeerUrls = { add.PeerUrls }, IsLearner = add.IsLearner };
        _members.Add(member);
        return new MemberAddResponse { Header = Header(), Member = member, Members = { _members } };
    }

    private MemberRemoveResponse RemoveMember(MemberRemoveRequest remove)
    {
        int removed = _members.RemoveAll(m => m.Id == remove.Id);
        if (removed == 0)
        {
            throw new KvStoreProtocolException(ErrorCode.InvalidArgument, $"member {remove.Id} does not exist");
        }

        return new MemberRemoveResponse { Header = Header(), Members = { _members } };
    }

    private MemberPromoteResponse PromoteMember(MemberPromoteRequest promote)
    {
        var member = _members.SingleOrDefault(m => m.Id == promote.Id)
            ?? throw new KvStoreProtocolException(ErrorCode.InvalidArgument, $"member {promote.Id} does not exist");
        member.IsLearner = false;
        return new MemberPromoteResponse { Header = Header(), Members = { _members } };
    }
}
