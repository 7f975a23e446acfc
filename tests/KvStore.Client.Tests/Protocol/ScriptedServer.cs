using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Client.Tests.Protocol;

/// <summary>
/// A one-connection fake server whose every move the test scripts: read a frame, answer
/// anything (right or wrong), close. Lets the client be tested without our real server.
/// </summary>
internal sealed class ScriptedServer : IAsyncDisposable
{
    public static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(15);

    private readonly Socket _listener;
    private Socket? _socket;
    private PipeReader? _input;
    private NetworkStream? _stream;

    public ScriptedServer()
    {
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(1);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
    }

    public IPEndPoint EndPoint { get; }

    public async Task AcceptAsync()
    {
        _socket = await _listener.AcceptAsync().WaitAsync(HangGuard);
        _stream = new NetworkStream(_socket, ownsSocket: false);
        _input = PipeReader.Create(_stream);
    }

    /// <summary>Accepts the connection and completes the handshake.</summary>
    public async Task AcceptAndGreetAsync(ulong clientId = 5)
    {
        await AcceptAsync();
        var hello = await ReadFrameAsync();
        Assert.Equal(FrameType.Hello, hello.Header.Type);
        await SendAsync(FrameType.HelloResponse, hello.Header.RequestId, new HelloResponse
        {
            ProtocolVersion = ProtocolVersion.Current,
            ClientId = clientId,
            Limits = ProtocolLimits.Default.ToMessage(),
        });
    }

    public async Task<(FrameHeader Header, byte[] Payload)> ReadFrameAsync()
    {
        while (true)
        {
            var result = await _input!.ReadAsync().AsTask().WaitAsync(HangGuard);
            var buffer = result.Buffer;
            if (FrameReader.TryReadFrame(ref buffer, int.MaxValue, out var frame) == FrameReadStatus.Complete)
            {
                var copy = (frame.Header, frame.Payload.ToArray());
                _input.AdvanceTo(buffer.Start);
                return copy;
            }

            _input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new IOException("client closed the connection");
            }
        }
    }

    public async Task SendAsync(FrameType type, ulong requestId, IMessage message)
    {
        var output = new ArrayBufferWriter<byte>();
        FrameWriter.Write(output, type, requestId, message);
        await _stream!.WriteAsync(output.WrittenMemory).AsTask().WaitAsync(HangGuard);
    }

    public void CloseConnection() => _socket?.Close();

    public async ValueTask DisposeAsync()
    {
        if (_input is not null)
        {
            await _input.CompleteAsync();
        }

        _socket?.Dispose();
        _listener.Dispose();
    }
}
