using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Google.Protobuf;
using KvStore.Client;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;
using Microsoft.Extensions.Logging;

namespace KvStore.Server.Net;

/// <summary>
/// One accepted client connection of a <see cref="ClientListener"/>: handshake, then a read loop
/// that parses frames straight out of the pipe and dispatches requests to the
/// <see cref="IRequestHandler"/> without waiting for earlier ones, and one writer loop that
/// flushes responses and push frames once per batch.
/// </summary>
/// <remarks>
/// Protocol violations (garbage, truncated or oversized frame, unknown type, bad payload, no or
/// wrong handshake) are answered with an <c>Error</c> frame when the header was readable, and the
/// connection closes. Limit violations of a well-formed request (key, value, ops, in-flight) are
/// answered for that request only; the connection stays open.
/// </remarks>
public sealed class ClientConnection
{
    // Lingering close after a protocol violation: how long and how much input to discard.
    private static readonly TimeSpan LingerTimeout = TimeSpan.FromSeconds(2);
    private const long MaxLingerBytes = 16 * 1024 * 1024;

    private readonly Socket _socket;
    private readonly IRequestHandler _handler;
    private readonly ClientListenerOptions _options;
    private readonly ProtocolLimits _limits;
    private readonly ILogger _logger;
    private readonly OutboundFrameQueue _outbox = new();
    private readonly SemaphoreSlim _pushSlots;
    private readonly Action _releasePushSlot;
    private readonly CancellationTokenSource _aborted = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _inFlight;
    private int _readingStopped;
    private bool _handshakeDone;

    internal ClientConnection(long id, Socket socket, IRequestHandler handler, ClientListenerOptions options, ILogger logger)
    {
        Id = id;
        _socket = socket;
        _handler = handler;
        _options = options;
        _limits = options.Limits;
        _logger = logger;
        RemoteEndPoint = socket.RemoteEndPoint;
        _pushSlots = new SemaphoreSlim(options.MaxQueuedPushFramesPerConnection, options.MaxQueuedPushFramesPerConnection);
        _releasePushSlot = () => _pushSlots.Release();
    }

    /// <summary>Listener-unique id of this connection (for logs).</summary>
    public long Id { get; }

    /// <summary>The client's address.</summary>
    public EndPoint? RemoteEndPoint { get; }

    /// <summary>Session client id agreed in the handshake (0 before it).</summary>
    public ulong ClientId { get; private set; }

    /// <summary>The name the client gave in its handshake.</summary>
    public string ClientName { get; private set; } = string.Empty;

    /// <summary>Fires when the connection is closed or cut; watch and lease streams stop on it.</summary>
    public CancellationToken Closed => _aborted.Token;

    /// <summary>
    /// Queues an unsolicited frame (request id 0) for this client, e.g. a watch event. Waits
    /// while <see cref="ClientListenerOptions.MaxQueuedPushFramesPerConnection"/> frames are queued.
    /// </summary>
    /// <exception cref="KvStoreConnectionException">The connection is closed.</exception>
    /// <exception cref="KvStoreLimitExceededException">The message is larger than the frame limit.</exception>
    public async ValueTask SendPushAsync(FrameType type, IMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        int size = message.CalculateSize();
        if (size > _limits.MaxFrameBytes)
        {
            throw (KvStoreLimitExceededException)KvStoreProtocolException.FromError(Error.LimitExceeded(
                ErrorCode.FrameTooLarge, $"push frame {type}", ProtocolLimits.MaxFrameBytesName, _limits.MaxFrameBytes, size, "bytes"));
        }

        await _pushSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_aborted.IsCancellationRequested || !_outbox.TryEnqueue(new OutboundFrame(type, 0, message, _releasePushSlot)))
        {
            _pushSlots.Release();
            throw new KvStoreConnectionException($"client connection {Id} ({RemoteEndPoint}) is closed");
        }
    }

    /// <summary>
    /// Queues a push frame only if a slot is free right now; false when the push queue is full or
    /// the connection is closed. Never waits: for callers that must not block (the watch hub's
    /// live fan-out detaches a watcher that cannot keep up instead of stalling every other one).
    /// </summary>
    /// <exception cref="KvStoreLimitExceededException">The message is larger than the frame limit.</exception>
    public bool TrySendPush(FrameType type, IMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        int size = message.CalculateSize();
        if (size > _limits.MaxFrameBytes)
        {
            throw (KvStoreLimitExceededException)KvStoreProtocolException.FromError(Error.LimitExceeded(
                ErrorCode.FrameTooLarge, $"push frame {type}", ProtocolLimits.MaxFrameBytesName, _limits.MaxFrameBytes, size, "bytes"));
        }

        if (!_pushSlots.Wait(0))
        {
            return false;
        }

        if (_aborted.IsCancellationRequested || !_outbox.TryEnqueue(new OutboundFrame(type, 0, message, _releasePushSlot)))
        {
            _pushSlots.Release();
            return false;
        }

        return true;
    }

    /// <summary>Cuts the connection now: in-flight requests are abandoned, queued frames dropped.</summary>
    internal void Abort()
    {
        try
        {
            _aborted.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already finished and cleaned up.
        }
    }

    /// <summary>
    /// Runs the connection until the client leaves, a protocol violation, or
    /// <paramref name="stopping"/> (graceful: in-flight requests are answered first). Never throws.
    /// </summary>
    internal async Task RunAsync(CancellationToken stopping)
    {
        var stream = new NetworkStream(_socket, ownsSocket: true);
        var input = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
        var output = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
        var writer = WriteLoopAsync(output);
        bool fatal = false;
        try
        {
            fatal = await ReadLoopAsync(input, stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested || _aborted.IsCancellationRequested)
        {
            _logger.LogDebug("Client connection {ConnectionId} stopping", Id);
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            // The client reset the connection: nobody will read answers, so stop serving it.
            _logger.LogDebug("Client connection {ConnectionId} ({Remote}) receive failed: {Message}", Id, RemoteEndPoint, ex.Message);
            Abort();
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Client connection {ConnectionId} ({Remote}) failed", Id, RemoteEndPoint);
            fatal = true;
        }

        try
        {
            await CloseAsync(writer, input, fatal).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _logger.LogDebug("Client connection {ConnectionId} ({Remote}) cut before its answers were written", Id, RemoteEndPoint);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Client connection {ConnectionId} ({Remote}) failed while closing", Id, RemoteEndPoint);
        }
        finally
        {
            _aborted.Cancel();
            await input.CompleteAsync().ConfigureAwait(false);
            await output.CompleteAsync().ConfigureAwait(false);
            await stream.DisposeAsync().ConfigureAwait(false);
            _logger.LogDebug("Client connection {ConnectionId} ({Remote}) closed", Id, RemoteEndPoint);
        }
    }

    private async Task CloseAsync(Task writer, PipeReader input, bool fatal)
    {
        using var drainTimeout = CancellationTokenSource.CreateLinkedTokenSource(_aborted.Token);
        drainTimeout.CancelAfter(_options.DrainTimeout);

        Interlocked.Exchange(ref _readingStopped, 1);
        if (Volatile.Read(ref _inFlight) == 0)
        {
            _drained.TrySetResult();
        }

        if (!fatal)
        {
            // Answer what was asked before the client or the listener ended the conversation.
            await _drained.Task.WaitAsync(drainTimeout.Token).ConfigureAwait(false);
        }

        _outbox.Complete();
        await writer.WaitAsync(drainTimeout.Token).ConfigureAwait(false);
        if (fatal)
        {
            await LingerAsync(input).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// After a protocol violation the client may still be sending (the rest of an oversized
    /// frame). Closing a socket with unread input makes TCP send a reset, which can destroy the
    /// Error frame before the client reads it; so send FIN first and discard input for a short
    /// while (bounded in time and bytes), as HTTP servers do with a "lingering close".
    /// </summary>
    private async Task LingerAsync(PipeReader input)
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
            using var linger = CancellationTokenSource.CreateLinkedTokenSource(_aborted.Token);
            linger.CancelAfter(LingerTimeout);
            long discarded = 0;
            while (discarded < MaxLingerBytes)
            {
                var result = await input.ReadAsync(linger.Token).ConfigureAwait(false);
                discarded += result.Buffer.Length;
                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // The client did not go away in time or reset: close anyway.
        }
    }

    private async Task WriteLoopAsync(PipeWriter output)
    {
        try
        {
            await _outbox.RunAsync(output, _aborted.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_aborted.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            _logger.LogDebug("Client connection {ConnectionId} ({Remote}) send failed: {Message}", Id, RemoteEndPoint, ex.Message);
            _aborted.Cancel();
        }
    }

    /// <summary>Reads and dispatches frames. Returns true if it stopped on a protocol violation.</summary>
    private async Task<bool> ReadLoopAsync(PipeReader input, CancellationToken stopping)
    {
        using var readCancellation = CancellationTokenSource.CreateLinkedTokenSource(stopping, _aborted.Token);
        while (true)
        {
            var result = await input.ReadAsync(readCancellation.Token).ConfigureAwait(false);
            var buffer = result.Buffer;
            bool violation = false;
            try
            {
                while (!violation)
                {
                    var status = FrameReader.TryReadFrame(ref buffer, _limits.MaxFrameBytes, out var frame);
                    if (status == FrameReadStatus.Incomplete)
                    {
                        break;
                    }

                    violation = status == FrameReadStatus.TooLarge
                        ? Reject(frame.RequestId, Error.LimitExceeded(
                            ErrorCode.FrameTooLarge, $"frame payload (type {(byte)frame.Type})",
                            ProtocolLimits.MaxFrameBytesName, _limits.MaxFrameBytes, frame.Header.PayloadLength, "bytes"))
                        : !OnFrame(frame);
                }

                if (!violation && result.IsCompleted && !buffer.IsEmpty)
                {
                    violation = RejectTruncated(buffer);
                }
            }
            finally
            {
                input.AdvanceTo(buffer.Start, buffer.End);
            }

            if (violation)
            {
                return true;
            }

            if (result.IsCompleted)
            {
                return false;
            }
        }
    }

    private bool RejectTruncated(in ReadOnlySequence<byte> rest)
    {
        if (rest.Length < FrameHeader.Size)
        {
            return Reject(0, Error.Create(
                ErrorCode.InvalidFrame, $"connection ended inside a frame header: {rest.Length} of {FrameHeader.Size} header bytes"));
        }

        var header = FrameReader.ReadHeader(rest);
        return Reject(header.RequestId, Error.Create(
            ErrorCode.InvalidFrame,
            $"truncated frame (type {(byte)header.Type}): header announces {header.PayloadLength} payload bytes, connection ended after {rest.Length - FrameHeader.Size}"));
    }

    /// <summary>Handles one complete frame. False if it was a protocol violation (the connection must close).</summary>
    private bool OnFrame(in Frame frame)
    {
        if (!_handshakeDone)
        {
            return OnHello(frame);
        }

        if (frame.RequestId == 0)
        {
            return !Reject(0, Error.Create(ErrorCode.InvalidFrame, $"request id 0 is reserved for server push (frame type {(byte)frame.Type})"));
        }

        if (!MessageFrameTypes.IsRequest(frame.Type) || !MessageFrameTypes.TryGetParser(frame.Type, out var parser))
        {
            return !Reject(frame.RequestId, Error.Create(
                ErrorCode.UnknownType, $"frame type {(byte)frame.Type} is not a request type this server accepts"));
        }

        IMessage request;
        try
        {
            request = parser.ParseFrom(frame.Payload);
        }
        catch (InvalidProtocolBufferException ex)
        {
            return !Reject(frame.RequestId, Error.Create(
                ErrorCode.InvalidFrame, $"payload of {frame.Type} ({frame.Payload.Length} bytes) does not parse: {ex.Message}"));
        }

        if (RequestLimitValidator.Validate(request, _limits) is { } limitError)
        {
            Answer(frame.RequestId, FrameType.Error, limitError);
            return true;
        }

        if (Volatile.Read(ref _inFlight) >= _limits.MaxInFlightPerConnection)
        {
            Answer(frame.RequestId, FrameType.Error, Error.LimitExceeded(
                ErrorCode.TooManyInFlight, "requests in flight on this connection", ProtocolLimits.MaxInFlightPerConnectionName,
                _limits.MaxInFlightPerConnection, _limits.MaxInFlightPerConnection + 1, "requests"));
            return true;
        }

        Dispatch(frame.Type, frame.RequestId, request);
        return true;
    }

    private bool OnHello(in Frame frame)
    {
        if (frame.Type != FrameType.Hello)
        {
            return !Reject(frame.RequestId, Error.Create(
                ErrorCode.HandshakeRequired, $"the first frame must be Hello (type {(byte)FrameType.Hello}), got type {(byte)frame.Type}"));
        }

        Hello hello;
        try
        {
            hello = Hello.Parser.ParseFrom(frame.Payload);
        }
        catch (InvalidProtocolBufferException ex)
        {
            return !Reject(frame.RequestId, Error.Create(ErrorCode.InvalidFrame, $"Hello payload does not parse: {ex.Message}"));
        }

        if (!ProtocolVersion.IsSupported(hello.ProtocolVersion))
        {
            return !Reject(frame.RequestId, Error.Create(
                ErrorCode.UnsupportedVersion,
                $"protocol version {hello.ProtocolVersion} is not supported; this server speaks {ProtocolVersion.MinSupported} to {ProtocolVersion.Current}"));
        }

        // Session ids only need to be unique; 64 random bits make a collision negligible
        // without a round trip through the replicated log.
        ClientId = hello.ClientId != 0 ? hello.ClientId : NewClientId();
        ClientName = hello.ClientName;
        _handshakeDone = true;
        _logger.LogDebug("Client connection {ConnectionId} ({Remote}) greeted: {ClientName}, client id {ClientId}", Id, RemoteEndPoint, ClientName, ClientId);
        Answer(frame.RequestId, FrameType.HelloResponse, new HelloResponse
        {
            ProtocolVersion = ProtocolVersion.Current,
            ClientId = ClientId,
            Header = new ResponseHeader { ClusterId = _options.ClusterId, MemberId = _options.MemberId },
            Limits = _limits.ToMessage(),
            ServerVersion = _options.ServerVersion,
        });
        return true;
    }

    private static ulong NewClientId()
    {
        Span<byte> bytes = stackalloc byte[8];
        ulong id;
        do
        {
            RandomNumberGenerator.Fill(bytes);
            id = BitConverter.ToUInt64(bytes);
        }
        while (id == 0);
        return id;
    }

    /// <summary>Answers a protocol violation and reports that the connection must close (always true).</summary>
    private bool Reject(ulong requestId, Error error)
    {
        _logger.LogWarning(
            "Client connection {ConnectionId} ({Remote}) closed on protocol violation {Code}: {Message}",
            Id, RemoteEndPoint, error.Code, error.Message);
        Answer(requestId, FrameType.Error, error);
        return true;
    }

    private void Answer(ulong requestId, FrameType type, IMessage message) =>
        _outbox.TryEnqueue(new OutboundFrame(type, requestId, message));

    private void Dispatch(FrameType type, ulong requestId, IMessage request)
    {
        Interlocked.Increment(ref _inFlight);
        ValueTask<IMessage> pending;
        try
        {
            pending = _handler.HandleAsync(type, request, new RequestContext(this, requestId), _aborted.Token);
        }
        catch (Exception ex)
        {
            Complete(type, requestId, null, ex);
            return;
        }

        if (pending.IsCompletedSuccessfully)
        {
            Complete(type, requestId, pending.Result, null);
        }
        else
        {
            _ = AwaitHandlerAsync(type, requestId, pending);
        }
    }

    private async Task AwaitHandlerAsync(FrameType type, ulong requestId, ValueTask<IMessage> pending)
    {
        IMessage? response = null;
        Exception? failure = null;
        try
        {
            response = await pending.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            failure = ex;
        }

        Complete(type, requestId, response, failure);
    }

    private void Complete(FrameType requestType, ulong requestId, IMessage? response, Exception? failure)
    {
        try
        {
            var (type, message) = ToAnswer(requestType, requestId, response, failure);
            if (message is not null)
            {
                Answer(requestId, type, message);
            }
        }
        finally
        {
            if (Interlocked.Decrement(ref _inFlight) == 0 && Volatile.Read(ref _readingStopped) == 1)
            {
                _drained.TrySetResult();
            }
        }
    }

    private (FrameType Type, IMessage? Message) ToAnswer(FrameType requestType, ulong requestId, IMessage? response, Exception? failure)
    {
        var expected = MessageFrameTypes.ResponseTypeOf(requestType);
        switch (failure)
        {
            case null when response is Error error:
                return (FrameType.Error, error);
            case null when response is not null && MessageFrameTypes.TryGetFrameType(response, out var type) && type == expected:
                return (type, response);
            case null:
                _logger.LogError(
                    "Request handler answered {RequestType} (request {RequestId}) with {ResponseType}, expected {Expected}",
                    requestType, requestId, response?.GetType().Name ?? "null", expected);
                return (FrameType.Error, Error.Create(
                    ErrorCode.Internal, $"server answered {requestType} with {response?.GetType().Name ?? "nothing"}, expected {expected}"));
            case KvStoreProtocolException protocolError:
                return (FrameType.Error, protocolError.ToError());
            case OperationCanceledException when _aborted.IsCancellationRequested:
                return (FrameType.Error, null);
            default:
                _logger.LogError(failure, "Request handler failed on {RequestType} (request {RequestId}) from connection {ConnectionId}", requestType, requestId, Id);
                return (FrameType.Error, Error.Create(
                    ErrorCode.Internal, $"internal error serving {requestType}: {failure.GetType().Name}: {failure.Message}"));
        }
    }
}
