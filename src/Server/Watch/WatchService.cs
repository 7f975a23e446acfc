using System.Runtime.CompilerServices;
using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using KvStore.Server.Mvcc;
using KvStore.Server.Net;

namespace KvStore.Server.Watch;

/// <summary>
/// The watch requests of client connections (create, cancel, progress), served by a
/// <see cref="WatchHub"/> with each connection's push queue as its sink. Any node serves them —
/// followers too — from its own applied state.
/// </summary>
public sealed class WatchService(WatchHub hub)
{
    private readonly ConditionalWeakTable<ClientConnection, ConnectionWatchSink> _sinks = [];

    public WatchHub Hub => hub;

    /// <summary>Answers a WatchCreateRequest: a WatchCreateResponse (canceled when the start was compacted) or an Error.</summary>
    public IMessage Create(WatchCreateRequest request, RequestContext context)
    {
        try
        {
            return hub.Create(SinkOf(context.Connection), request);
        }
        catch (MvccException ex)
        {
            return ex.ToError();
        }
    }

    public IMessage Cancel(WatchCancelRequest request, RequestContext context)
    {
        try
        {
            return hub.Cancel(SinkOf(context.Connection), request.WatchId);
        }
        catch (MvccException ex)
        {
            return ex.ToError();
        }
    }

    public IMessage RequestProgress(RequestContext context) => hub.RequestProgress(SinkOf(context.Connection));

    private ConnectionWatchSink SinkOf(ClientConnection connection) => _sinks.GetValue(connection, c => new ConnectionWatchSink(c));
}
