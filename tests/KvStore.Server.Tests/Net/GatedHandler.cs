using System.Collections.Concurrent;
using Google.Protobuf;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;
using KvStore.Server.Net;

namespace KvStore.Server.Tests.Net;

/// <summary>
/// Answers a RangeRequest for key K with one pair (K, "value-of-K"), but only when the test
/// opens K's gate: the test decides the order in which responses complete.
/// </summary>
internal sealed class GatedHandler : IRequestHandler
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new();
    private int _arrived;
    private int _cancelled;
    private TaskCompletionSource _arrivals = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _awaitedArrivals = int.MaxValue;

    public int Arrived => Volatile.Read(ref _arrived);

    /// <summary>Requests whose wait was cut by the connection's cancellation token.</summary>
    public int Cancelled => Volatile.Read(ref _cancelled);

    /// <summary>Completes when the first request's wait has been cut by its cancellation token.</summary>
    public TaskCompletionSource FirstCancellation { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The connections requests arrived on.</summary>
    public ConcurrentBag<ClientConnection> Connections { get; } = [];

    public async ValueTask<IMessage> HandleAsync(FrameType type, IMessage request, RequestContext context, CancellationToken cancellationToken)
    {
        var key = ((RangeRequest)request).Key.ToStringUtf8();
        var gate = Gate(key);
        Connections.Add(context.Connection);
        if (Interlocked.Increment(ref _arrived) >= Volatile.Read(ref _awaitedArrivals))
        {
            _arrivals.TrySetResult();
        }

        try
        {
            await gate.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref _cancelled);
            FirstCancellation.TrySetResult();
            throw;
        }

        return new RangeResponse
        {
            Count = 1,
            Kvs = { new KeyValue { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8("value-of-" + key) } },
        };
    }

    public void Open(string key) => Gate(key).TrySetResult();

    /// <summary>Completes when <paramref name="count"/> requests have reached the handler.</summary>
    public Task ArrivalsAsync(int count)
    {
        _arrivals = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _awaitedArrivals, count);
        if (Arrived >= count)
        {
            _arrivals.TrySetResult();
        }

        return _arrivals.Task.WaitAsync(TestServer.HangGuard);
    }

    private TaskCompletionSource Gate(string key) =>
        _gates.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}
