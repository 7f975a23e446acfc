using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvStore.Client.Protocol;

/// <summary>
/// One TCP connection to a KvStore server speaking the native protocol (docs/protocol.md):
/// handshake, then any number of concurrent requests, each with a fresh request id; responses
/// may arrive in any order and are matched by id. Frames the server pushes on its own arrive
/// in <see cref="PushFrames"/>.
/// </summary>
/// <remarks>
/// Thread-safe. A failure of the connection fails every pending request with
/// <see cref="KvStoreConnectionException"/>; the connection is then dead (open a new one).
/// An <c>Error</c> answer raises <see cref="KvStoreProtocolException"/> (or a subtype) for that
/// request only.
/// </remarks>
public sealed class ProtocolConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly OutboundFrameQueue _outbox = new();
    private readonly ConcurrentDictionary<ulong, PendingRequest> _pending = new();
    private readonly SemaphoreSlim _inFlightSlots;
    private readonly Channel<PushFrame> _pushFrames;
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ProtocolConnectionOptions _options;
    private readonly ILogger _logger;
    private Task _readLoop = Task.CompletedTask;
    private Task _writeLoop = Task.CompletedTask;
    private long _lastRequestId;
    private int _disposed;
    private KvStoreConnectionException? _failure;
    private Error? _connectionError;

    private ProtocolConnection(Socket socket, EndPoint remoteEndPoint, ProtocolConnectionOptions options, ILogger logger)
    {
        _socket = socket;
        _options = options;
        _logger = logger;
        RemoteEndPoint = remoteEndPoint;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _input = PipeReader.Create(_stream, new StreamPipeReaderOptions(leaveOpen: true));
        _output = PipeWriter.Create(_stream, new StreamPipeWriterOptions(leaveOpen: true));
        _inFlightSlots = new SemaphoreSlim(options.Limits.MaxInFlightPerConnection, options.Limits.MaxInFlightPerConnection);
        _pushFrames = Channel.CreateBounded<PushFrame>(new BoundedChannelOptions(options.PushQueueCapacity)
        {
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>The server this connection talks to.</summary>
    public EndPoint RemoteEndPoint { get; }

    /// <summary>The session client id the server confirmed in the handshake.</summary>
    public ulong ClientId { get; private set; }

    /// <summary>The server's answer to the handshake (its version, limits and header).</summary>
    public HelloResponse ServerHello { get; private set; } = new();

    /// <summary>The limits the server announced in the handshake.</summary>
    public ProtocolLimits ServerLimits { get; private set; } = ProtocolLimits.Default;

    /// <summary>Frames the server pushed (request id 0). Completes when the connection closes.</summary>
    public ChannelReader<PushFrame> PushFrames => _pushFrames.Reader;

    /// <summary>Completes when the connection has closed, for whatever reason.</summary>
    public Task Completion => _closed.Task;

    /// <summary>False once the connection has failed or been disposed.</summary>
    public bool IsConnected => Volatile.Read(ref _failure) is null;

    /// <summary>Connects to <paramref name="host"/>:<paramref name="port"/> and performs the handshake.</summary>
    public static Task<ProtocolConnection> ConnectAsync(
        string host, int port, ProtocolConnectionOptions? options = null, ILogger? logger = null, CancellationToken cancellationToken = default) =>
        ConnectAsync(new DnsEndPoint(host, port), options, logger, cancellationToken);

    /// <summary>Connects to <paramref name="endPoint"/> and performs the handshake.</summary>
    /// <exception cref="KvStoreConnectionException">The server cannot be reached or closed the connection.</exception>
    /// <exception cref="KvStoreProtocolException">The server refused the handshake (e.g. <see cref="ErrorCode.UnsupportedVersion"/>).</exception>
    public static async Task<ProtocolConnection> ConnectAsync(
        EndPoint endPoint, ProtocolConnectionOptions? options = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        options ??= new ProtocolConnectionOptions();
        options.Limits.Validated();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.PushQueueCapacity);

        var socket = endPoint is IPEndPoint ip
            ? new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(SocketType.Stream, ProtocolType.Tcp);
        socket.NoDelay = true;
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new KvStoreConnectionException($"cannot connect to {endPoint}: {ex.Message}", ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new ProtocolConnection(socket, endPoint, options, logger ?? NullLogger.Instance);
        connection.Start();
        try
        {
            await connection.HandshakeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return connection;
    }

    /// <summary>
    /// Sends <paramref name="request"/> (any request message of kvstore.proto) and returns the
    /// server's response message.
    /// </summary>
    /// <exception cref="KvStoreProtocolException">The server answered with an error.</exception>
    /// <exception cref="KvStoreConnectionException">The connection failed before the answer arrived.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired; the request may still be applied.</exception>
    public Task<IMessage> SendAsync(IMessage request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var type = MessageFrameTypes.GetFrameType(request);
        if (!MessageFrameTypes.IsRequest(type))
        {
            throw new ArgumentException($"{request.GetType().Name} is not a request message", nameof(request));
        }

        return SendCoreAsync(type, request, cancellationToken);
    }

    /// <summary>Sends <paramref name="request"/> and returns the response as <typeparamref name="TResponse"/>.</summary>
    public async Task<TResponse> SendAsync<TResponse>(IMessage request, CancellationToken cancellationToken = default)
        where TResponse : IMessage
    {
        var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        return response is TResponse typed
            ? typed
            : throw new ArgumentException($"{request.GetType().Name} is answered by {response.GetType().Name}, not {typeof(TResponse).Name}", nameof(request));
    }

    public Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<RangeResponse>(request, cancellationToken);

    public Task<PutResponse> PutAsync(PutRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<PutResponse>(request, cancellationToken);

    public Task<DeleteRangeResponse> DeleteRangeAsync(DeleteRangeRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<DeleteRangeResponse>(request, cancellationToken);

    public Task<TxnResponse> TxnAsync(TxnRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<TxnResponse>(request, cancellationToken);

    public Task<CompactionResponse> CompactAsync(CompactionRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<CompactionResponse>(request, cancellationToken);

    public Task<StatusResponse> StatusAsync(StatusRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<StatusResponse>(request, cancellationToken);

    public Task<MemberListResponse> MemberListAsync(MemberListRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<MemberListResponse>(request, cancellationToken);

    public Task<MemberAddResponse> MemberAddAsync(MemberAddRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<MemberAddResponse>(request, cancellationToken);

    public Task<MemberRemoveResponse> MemberRemoveAsync(MemberRemoveRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<MemberRemoveResponse>(request, cancellationToken);

    public Task<MemberPromoteResponse> MemberPromoteAsync(MemberPromoteRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<MemberPromoteResponse>(request, cancellationToken);

    /// <summary>Closes the connection; pending requests fail with <see cref="KvStoreConnectionException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Fail(new KvStoreConnectionException($"connection to {RemoteEndPoint} was disposed"));
        await Task.WhenAll(_readLoop, _writeLoop).ConfigureAwait(false);
        await _input.CompleteAsync().ConfigureAwait(false);
        try
        {
            // Completing the writer flushes what is still buffered; a server that already closed
            // the connection (it refused a frame, or went away) makes that flush fail. Disposing
            // must not throw for it: the connection is closed either way.
            await _output.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
        }
        finally
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
            _closing.Dispose();
        }
    }

    private void Start()
    {
        _writeLoop = WriteLoopAsync();
        _readLoop = ReadLoopAsync();
    }

    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        var hello = new Hello
        {
            ProtocolVersion = ProtocolVersion.Current,
            ClientId = _options.ClientId,
            ClientName = _options.ClientName,
        };
        var response = (HelloResponse)await SendCoreAsync(FrameType.Hello, hello, cancellationToken).ConfigureAwait(false);
        ServerHello = response;
        ClientId = response.ClientId;
        if (response.Limits is not null)
        {
            ServerLimits = ProtocolLimits.FromMessage(response.Limits);
        }

        _logger.LogDebug("Connected to {Endpoint}: protocol {Version}, client id {ClientId}", RemoteEndPoint, response.ProtocolVersion, response.ClientId);
    }

    private async Task<IMessage> SendCoreAsync(FrameType type, IMessage request, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfFailed();
        int size = request.CalculateSize();
        if (size > _options.Limits.MaxFrameBytes)
        {
            throw KvStoreProtocolException.FromError(Error.LimitExceeded(
                ErrorCode.FrameTooLarge, $"{type} payload", ProtocolLimits.MaxFrameBytesName, _options.Limits.MaxFrameBytes, size, "bytes"));
        }

        // The slot is held until the server's answer arrives (or the connection dies), even if
        // the caller stops waiting: the server counts the request in flight until it answers, so
        // releasing early would let a burst after cancellations exceed the server's limit.
        await _inFlightSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
        ulong requestId = (ulong)Interlocked.Increment(ref _lastRequestId);
        var pending = new PendingRequest(type);
        _pending[requestId] = pending;

        // Fail() sets _failure before it drains _pending: either it sees this entry, or we see
        // _failure here (the barrier keeps our read of _failure after our write to _pending).
        // Whoever removes the entry completes it and releases its slot.
        Interlocked.MemoryBarrier();
        if ((Volatile.Read(ref _failure) is not null || !_outbox.TryEnqueue(new OutboundFrame(type, requestId, request)))
            && _pending.TryRemove(requestId, out _))
        {
            _inFlightSlots.Release();
            ThrowIfFailed();
            throw new KvStoreConnectionException($"connection to {RemoteEndPoint} is closing");
        }

        using var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static (state, token) => ((PendingRequest)state!).TrySetCanceled(token), pending)
            : default;
        return await pending.Task.ConfigureAwait(false);
    }

    private void ThrowIfFailed()
    {
        if (Volatile.Read(ref _failure) is { } failure)
        {
            throw new KvStoreConnectionException(failure.Message, failure.InnerException);
        }
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            await _outbox.RunAsync(_output, _closing.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            Fail(new KvStoreConnectionException($"cannot send to {RemoteEndPoint}: {ex.Message}", ex));
        }
    }

    private async Task ReadLoopAsync()
    {
        string reason = $"server {RemoteEndPoint} closed the connection";
        Exception? cause = null;
        try
        {
            while (true)
            {
                var result = await _input.ReadAsync(_closing.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                try
                {
                    while (true)
                    {
                        var status = FrameReader.TryReadFrame(ref buffer, _options.Limits.MaxFrameBytes, out var frame);
                        if (status == FrameReadStatus.Incomplete)
                        {
                            break;
                        }

                        if (status == FrameReadStatus.TooLarge)
                        {
                            throw KvStoreProtocolException.FromError(Error.LimitExceeded(
                                ErrorCode.FrameTooLarge, $"frame from server (type {frame.Type}, request {frame.RequestId})",
                                ProtocolLimits.MaxFrameBytesName, _options.Limits.MaxFrameBytes, frame.Header.PayloadLength, "bytes"));
                        }

                        await OnFrameAsync(frame).ConfigureAwait(false);
                    }

                    if (result.IsCompleted)
                    {
                        if (!buffer.IsEmpty)
                        {
                            reason = $"server {RemoteEndPoint} closed the connection in the middle of a frame ({buffer.Length} bytes left)";
                        }

                        break;
                    }
                }
                finally
                {
                    _input.AdvanceTo(buffer.Start, buffer.End);
                }
            }
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or KvStoreProtocolException or InvalidProtocolBufferException)
        {
            reason = $"connection to {RemoteEndPoint} failed: {ex.Message}";
            cause = ex;
        }

        if (Volatile.Read(ref _connectionError) is { } serverError)
        {
            reason += $" (server said {serverError.Code}: {serverError.Message})";
        }

        Fail(new KvStoreConnectionException(reason, cause));
    }

    private async ValueTask OnFrameAsync(Frame frame)
    {
        if (frame.RequestId == 0)
        {
            if (frame.Type == FrameType.Error)
            {
                var error = Error.Parser.ParseFrom(frame.Payload);
                Volatile.Write(ref _connectionError, error);
                _logger.LogWarning("Server {Endpoint} reported {Code}: {Message}", RemoteEndPoint, error.Code, error.Message);
                return;
            }

            await _pushFrames.Writer.WriteAsync(new PushFrame(frame.Type, frame.Payload.ToArray()), _closing.Token).ConfigureAwait(false);
            return;
        }

        if (!_pending.TryRemove(frame.RequestId, out var pending))
        {
            throw new KvStoreProtocolException(
                ErrorCode.InvalidFrame, $"server sent frame type {(byte)frame.Type} for request {frame.RequestId}, which is not pending");
        }

        _inFlightSlots.Release();
        if (pending.Task.IsCompleted)
        {
            // The caller cancelled; the late answer has nobody to go to.
            _logger.LogTrace("Dropping answer to abandoned request {RequestId} ({Type})", frame.RequestId, frame.Type);
            return;
        }

        if (frame.Type == FrameType.Error)
        {
            pending.TrySetException(KvStoreProtocolException.FromError(Error.Parser.ParseFrom(frame.Payload)));
            return;
        }

        if (frame.Type != pending.ResponseType || !MessageFrameTypes.TryGetParser(frame.Type, out var parser))
        {
            var mismatch = new KvStoreProtocolException(
                ErrorCode.InvalidFrame,
                $"server answered request {frame.RequestId} ({pending.RequestType}) with frame type {(byte)frame.Type}, expected {pending.ResponseType}");
            pending.TrySetException(mismatch);
            throw mismatch;
        }

        pending.TrySetResult(parser.ParseFrom(frame.Payload));
    }

    private void Fail(KvStoreConnectionException failure)
    {
        if (Interlocked.CompareExchange(ref _failure, failure, null) is not null)
        {
            return;
        }

        _logger.LogDebug("Connection to {Endpoint} closed: {Reason}", RemoteEndPoint, failure.Message);
        _outbox.Complete();
        _closing.Cancel();
        _pushFrames.Writer.TryComplete(failure);
        foreach (var requestId in _pending.Keys)
        {
            if (_pending.TryRemove(requestId, out var pending))
            {
                _inFlightSlots.Release();
                pending.TrySetException(new KvStoreConnectionException(failure.Message, failure.InnerException));
            }
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already gone: nothing left to shut down.
        }

        _closed.TrySetResult();
    }
}
