using Google.Protobuf;
using KvStore.Client.Protocol;

namespace KvStore.Server.Net;

/// <summary>
/// Serves the requests that arrive on client connections. The <see cref="ClientListener"/> calls
/// it concurrently — many requests of one connection may be in progress at once and may
/// complete in any order — after it has checked the handshake, the frame and the request limits.
/// </summary>
/// <remarks>
/// The listener calls <see cref="HandleAsync"/> on the connection's read loop and only awaits
/// the result if it is not already complete (the Kestrel way: no thread hop for fast answers).
/// So the handler must not block: slow work (a Raft round trip, a disk read) returns an
/// incomplete <see cref="ValueTask{TResult}"/> and the read loop moves on to the next frame.
/// </remarks>
public interface IRequestHandler
{
    /// <summary>
    /// Serves one request and returns its response message: the response type of
    /// <paramref name="type"/> (e.g. <c>PutResponse</c> for <see cref="FrameType.PutRequest"/>), or
    /// an <c>Error</c> message. Throwing <see cref="Client.KvStoreProtocolException"/> (e.g.
    /// <see cref="Client.NotLeaderException"/>) answers with that error; any other exception
    /// answers <c>INTERNAL</c> and leaves the connection open.
    /// </summary>
    /// <param name="type">The request's frame type; it tells which message <paramref name="request"/> is.</param>
    /// <param name="request">The parsed request message (owned by the handler).</param>
    /// <param name="context">The connection and request id, e.g. to push frames later.</param>
    /// <param name="cancellationToken">Fires when the connection closes: the answer has nobody to go to.</param>
    ValueTask<IMessage> HandleAsync(FrameType type, IMessage request, RequestContext context, CancellationToken cancellationToken);
}
