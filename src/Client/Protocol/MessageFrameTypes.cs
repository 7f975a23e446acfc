using System.Collections.Frozen;
using Google.Protobuf;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Client.Protocol;

/// <summary>
/// The one table that ties frame types to protobuf messages: which parser reads a payload,
/// which frame type carries a message, and which response type answers a request type.
/// </summary>
public static class MessageFrameTypes
{
    private static readonly FrozenDictionary<FrameType, MessageParser> Parsers = new Dictionary<FrameType, MessageParser>
    {
        [FrameType.Hello] = Hello.Parser,
        [FrameType.HelloResponse] = HelloResponse.Parser,
        [FrameType.Error] = Error.Parser,
        [FrameType.RangeRequest] = RangeRequest.Parser,
        [FrameType.RangeResponse] = RangeResponse.Parser,
        [FrameType.PutRequest] = PutRequest.Parser,
        [FrameType.PutResponse] = PutResponse.Parser,
        [FrameType.DeleteRangeRequest] = DeleteRangeRequest.Parser,
        [FrameType.DeleteRangeResponse] = DeleteRangeResponse.Parser,
        [FrameType.TxnRequest] = TxnRequest.Parser,
        [FrameType.TxnResponse] = TxnResponse.Parser,
        [FrameType.CompactionRequest] = CompactionRequest.Parser,
        [FrameType.CompactionResponse] = CompactionResponse.Parser,
        [FrameType.StatusRequest] = StatusRequest.Parser,
        [FrameType.StatusResponse] = StatusResponse.Parser,
        [FrameType.MemberListRequest] = MemberListRequest.Parser,
        [FrameType.MemberListResponse] = MemberListResponse.Parser,
        [FrameType.MemberAddRequest] = MemberAddRequest.Parser,
        [FrameType.MemberAddResponse] = MemberAddResponse.Parser,
        [FrameType.MemberRemoveRequest] = MemberRemoveRequest.Parser,
        [FrameType.MemberRemoveResponse] = MemberRemoveResponse.Parser,
        [FrameType.MemberPromoteRequest] = MemberPromoteRequest.Parser,
        [FrameType.MemberPromoteResponse] = MemberPromoteResponse.Parser,
        [FrameType.LeaseGrantRequest] = LeaseGrantRequest.Parser,
        [FrameType.LeaseGrantResponse] = LeaseGrantResponse.Parser,
        [FrameType.LeaseRevokeRequest] = LeaseRevokeRequest.Parser,
        [FrameType.LeaseRevokeResponse] = LeaseRevokeResponse.Parser,
        [FrameType.LeaseKeepAliveRequest] = LeaseKeepAliveRequest.Parser,
        [FrameType.LeaseKeepAliveResponse] = LeaseKeepAliveResponse.Parser,
        [FrameType.LeaseTimeToLiveRequest] = LeaseTimeToLiveRequest.Parser,
        [FrameType.LeaseTimeToLiveResponse] = LeaseTimeToLiveResponse.Parser,
        [FrameType.LeaseLeasesRequest] = LeaseLeasesRequest.Parser,
        [FrameType.LeaseLeasesResponse] = LeaseLeasesResponse.Parser,
        [FrameType.WatchCreateRequest] = WatchCreateRequest.Parser,
        [FrameType.WatchCreateResponse] = WatchCreateResponse.Parser,
        [FrameType.WatchCancelRequest] = WatchCancelRequest.Parser,
        [FrameType.WatchCancelResponse] = WatchCancelResponse.Parser,
        [FrameType.WatchProgressRequest] = WatchProgressRequest.Parser,
        [FrameType.WatchProgressResponse] = WatchProgressResponse.Parser,
        [FrameType.WatchEvents] = WatchEvents.Parser,
        [FrameType.LockRequest] = LockRequest.Parser,
        [FrameType.LockResponse] = LockResponse.Parser,
        [FrameType.UnlockRequest] = UnlockRequest.Parser,
        [FrameType.UnlockResponse] = UnlockResponse.Parser,
        [FrameType.ValidateFencingTokenRequest] = ValidateFencingTokenRequest.Parser,
        [FrameType.ValidateFencingTokenResponse] = ValidateFencingTokenResponse.Parser,
        [FrameType.CampaignRequest] = CampaignRequest.Parser,
        [FrameType.CampaignResponse] = CampaignResponse.Parser,
        [FrameType.ProclaimRequest] = ProclaimRequest.Parser,
        [FrameType.ProclaimResponse] = ProclaimResponse.Parser,
        [FrameType.LeaderRequest] = LeaderRequest.Parser,
        [FrameType.LeaderResponse] = LeaderResponse.Parser,
        [FrameType.ResignRequest] = ResignRequest.Parser,
        [FrameType.ResignResponse] = ResignResponse.Parser,
        [FrameType.ObserveRequest] = ObserveRequest.Parser,
        [FrameType.ObserveResponse] = ObserveResponse.Parser,
        [FrameType.ObserveCancelRequest] = ObserveCancelRequest.Parser,
        [FrameType.ObserveCancelResponse] = ObserveCancelResponse.Parser,
        [FrameType.ElectionObservation] = ElectionObservation.Parser,
    }.ToFrozenDictionary();

    private static readonly FrozenDictionary<Type, FrameType> TypesByClrType = Parsers.ToFrozenDictionary(
        pair => pair.Value.ParseFrom(ReadOnlySpan<byte>.Empty).GetType(),
        pair => pair.Key);

    /// <summary>The parser for payloads of frame type <paramref name="type"/>, if the type is known.</summary>
    public static bool TryGetParser(FrameType type, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MessageParser? parser) =>
        Parsers.TryGetValue(type, out parser);

    /// <summary>The frame type that carries <paramref name="message"/>, if its message type has one.</summary>
    public static bool TryGetFrameType(IMessage message, out FrameType type) =>
        TypesByClrType.TryGetValue(message.GetType(), out type);

    /// <summary>The frame type that carries <paramref name="message"/>.</summary>
    public static FrameType GetFrameType(IMessage message) =>
        TryGetFrameType(message, out var type)
            ? type
            : throw new ArgumentException($"message type {message.GetType().Name} has no frame type", nameof(message));

    /// <summary>True for the request types a client may send after the handshake.</summary>
    public static bool IsRequest(FrameType type) =>
        type != FrameType.Hello && ((byte)type & 1) == 0 && Parsers.ContainsKey(type);

    /// <summary>The frame type of the response to request type <paramref name="request"/>.</summary>
    public static FrameType ResponseTypeOf(FrameType request) => (FrameType)((byte)request + 1);
}
