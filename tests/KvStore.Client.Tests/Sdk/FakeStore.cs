using Google.Protobuf;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Client.Tests.Sdk;

/// <summary>
/// A tiny key-value state machine for scripted leaders: a revision counter, puts, gets and
/// deletes, and exactly-once sessions (a repeated (client id, sequence) gets the saved answer
/// and is not applied again) — enough to observe what the SDK sends.
/// </summary>
internal sealed class FakeStore
{
    private readonly object _gate = new();
    private readonly SortedDictionary<string, KeyValue> _data = new(StringComparer.Ordinal);
    private readonly Dictionary<(ulong, ulong), IMessage> _answered = [];

    public long Revision { get; private set; } = 1;

    /// <summary>Writes actually applied (a deduplicated retry does not count).</summary>
    public int AppliedWrites { get; private set; }

    public IMessage Apply(FrameType type, IMessage request)
    {
        lock (_gate)
        {
            var session = request.Descriptor.FindFieldByNumber(100).Accessor.GetValue(request) as Session;
            if (session is { ClientId: not 0 } && _answered.TryGetValue((session.ClientId, session.Sequence), out var saved))
            {
                return saved;
            }

            IMessage answer = request switch
            {
                PutRequest put => Put(put),
                RangeRequest range => Range(range),
                DeleteRangeRequest delete => Delete(delete),
                StatusRequest => new StatusResponse { Name = "leader", IsLeader = true, Header = Header() },
                _ => throw new InvalidOperationException($"the fake store does not serve {type}"),
            };
            if (session is { ClientId: not 0 })
            {
                _answered[(session.ClientId, session.Sequence)] = answer;
            }

            return answer;
        }
    }

    private PutResponse Put(PutRequest put)
    {
        AppliedWrites++;
        Revision++;
        string key = put.Key.ToStringUtf8();
        _data.TryGetValue(key, out var previous);
        _data[key] = new KeyValue
        {
            Key = put.Key,
            Value = put.Value,
            CreateRevision = previous?.CreateRevision ?? Revision,
            ModRevision = Revision,
            Version = (previous?.Version ?? 0) + 1,
        };
        var response = new PutResponse { Header = Header() };
        if (put.PrevKv && previous is not null)
        {
            response.PrevKv = previous;
        }

        return response;
    }

    private RangeResponse Range(RangeRequest range)
    {
        var response = new RangeResponse { Header = Header() };
        if (_data.TryGetValue(range.Key.ToStringUtf8(), out var kv))
        {
            response.Kvs.Add(kv);
            response.Count = 1;
        }

        return response;
    }

    private DeleteRangeResponse Delete(DeleteRangeRequest delete)
    {
        AppliedWrites++;
        bool removed = _data.Remove(delete.Key.ToStringUtf8());
        if (removed)
        {
            Revision++;
        }

        return new DeleteRangeResponse { Header = Header(), Deleted = removed ? 1 : 0 };
    }

    private ResponseHeader Header() => new() { ClusterId = 7, MemberId = 3, Revision = Revision, RaftTerm = 2 };
}
