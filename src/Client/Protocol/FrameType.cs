namespace KvStore.Client.Protocol;

/// <summary>
/// The type byte of a frame (see docs/protocol.md). Wire format: do not change these values;
/// they are embedded in every frame on the wire. Add new types with new values only.
/// </summary>
/// <remarks>
/// Convention: a request type is even and its response type is the request type + 1.
/// Ranges: 1-15 connection control, 16-63 key-value and maintenance, 64-127 reserved for
/// coordination (leases, watches, locks, elections), 128-191 reserved for the peer transport
/// (Raft messages), 192-255 unassigned. 0 is never a valid type.
/// </remarks>
public enum FrameType : byte
{
    /// <summary>Client's first frame: <c>Hello</c>.</summary>
    Hello = 2,
    /// <summary>Server's answer to <see cref="Hello"/>: <c>HelloResponse</c>.</summary>
    HelloResponse = 3,
    /// <summary>An <c>Error</c> message; answers any request (same request id) or, with request id 0, the connection.</summary>
    Error = 5,

    RangeRequest = 16,
    RangeResponse = 17,
    PutRequest = 18,
    PutResponse = 19,
    DeleteRangeRequest = 20,
    DeleteRangeResponse = 21,
    TxnRequest = 22,
    TxnResponse = 23,
    CompactionRequest = 24,
    CompactionResponse = 25,

    StatusRequest = 32,
    StatusResponse = 33,
    MemberListRequest = 34,
    MemberListResponse = 35,
    MemberAddRequest = 36,
    MemberAddResponse = 37,
    MemberRemoveRequest = 38,
    MemberRemoveResponse = 39,
    MemberPromoteRequest = 40,
    MemberPromoteResponse = 41,

    // Coordination (docs/coordination.md). Push frames (request id 0) have odd values with no request.
    LeaseGrantRequest = 64,
    LeaseGrantResponse = 65,
    LeaseRevokeRequest = 66,
    LeaseRevokeResponse = 67,
    LeaseKeepAliveRequest = 68,
    LeaseKeepAliveResponse = 69,
    LeaseTimeToLiveRequest = 70,
    LeaseTimeToLiveResponse = 71,
    LeaseLeasesRequest = 72,
    LeaseLeasesResponse = 73,

    WatchCreateRequest = 80,
    WatchCreateResponse = 81,
    WatchCancelRequest = 82,
    WatchCancelResponse = 83,
    WatchProgressRequest = 84,
    WatchProgressResponse = 85,
    /// <summary>Push: <c>WatchEvents</c> of one watch.</summary>
    WatchEvents = 87,

    LockRequest = 96,
    LockResponse = 97,
    UnlockRequest = 98,
    UnlockResponse = 99,
    ValidateFencingTokenRequest = 100,
    ValidateFencingTokenResponse = 101,

    CampaignRequest = 112,
    CampaignResponse = 113,
    ProclaimRequest = 114,
    ProclaimResponse = 115,
    LeaderRequest = 116,
    LeaderResponse = 117,
    ResignRequest = 118,
    ResignResponse = 119,
    ObserveRequest = 120,
    ObserveResponse = 121,
    ObserveCancelRequest = 122,
    ObserveCancelResponse = 123,
    /// <summary>Push: an <c>ElectionObservation</c> of one observe stream.</summary>
    ElectionObservation = 125,
}
