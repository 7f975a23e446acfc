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
}
