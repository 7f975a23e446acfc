using System.Collections.Concurrent;
using Google.Protobuf;
using KvStore.Client.Protocol;
using KvStore.Server.Net;

namespace KvStore.Client.Tests.Sdk;

/// <summary>
/// One fake cluster member: a real <see cref="ClientListener"/> on a free loopback port whose
/// answers the test scripts through <see cref="Behaviour"/>. Every request it receives is kept
/// (a copy) in <see cref="Received"/>.
/// </summary>
internal sealed class ScriptedMember : IRequestHandler, IAsyncDisposable
{
    private readonly ClientListener _listener;

    public ScriptedMember(string name)
    {
        Name = name;
        _listener = new ClientListener(new ClientListenerOptions { DrainTimeout = TimeSpan.FromMilliseconds(200), ClusterId = 7, MemberId = (ulong)name.GetHashCode() & 0xFFFF }, this);
        _listener.Start();
    }

    public string Name { get; }

    /// <summary>"127.0.0.1:port" of the listener.</summary>
    public string Endpoint => $"127.0.0.1:{_listener.LocalEndPoint.Port}";

    /// <summary>What the member answers; by default it throws, so an unscripted request fails the test loudly.</summary>
    public Func<FrameType, IMessage, CancellationToken, ValueTask<IMessage>> Behaviour { get; set; } =
        (type, _, _) => throw new InvalidOperationException($"no behaviour scripted for {type}");

    public ConcurrentQueue<(FrameType Type, IMessage Request)> Received { get; } = new();

    public int Count(FrameType type) => Received.Count(r => r.Type == type);

    public ValueTask<IMessage> HandleAsync(FrameType type, IMessage request, RequestContext context, CancellationToken cancellationToken)
    {
        Received.Enqueue((type, request.Descriptor.Parser.ParseFrom(request.ToByteArray())));
        return Behaviour(type, request, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        using var cut = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _listener.StopAsync(cut.Token);
        await _listener.DisposeAsync();
    }
}
