using Wire = KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>Who answered a request and at which point of the store's history.</summary>
/// <param name="ClusterId">The cluster of the answering member.</param>
/// <param name="MemberId">The answering member.</param>
/// <param name="Revision">The store revision when the request was served (after it, for a write).</param>
/// <param name="RaftTerm">The answering member's Raft term.</param>
public sealed record KvResponseHeader(ulong ClusterId, ulong MemberId, long Revision, ulong RaftTerm)
{
    /// <summary>A header of zeros, for a response that carried none.</summary>
    public static KvResponseHeader Empty { get; } = new(0, 0, 0, 0);

    /// <summary>Converts the wire message (null gives <see cref="Empty"/>).</summary>
    public static KvResponseHeader FromMessage(Wire.ResponseHeader? header) =>
        header is null ? Empty : new KvResponseHeader(header.ClusterId, header.MemberId, header.Revision, header.RaftTerm);
}
