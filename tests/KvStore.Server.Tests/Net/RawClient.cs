using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Server.Tests.Net;

/// <summary>
/// A socket that writes whatever bytes a test wants — well-formed frames or garbage — and reads
/// back the server's frames until it closes. The misbehaving client of these tests.
/// </summary>
internal sealed class RawClient : IDisposable
{
    private readonly Socket _socket;
    private readonly List<byte> _received = [];

    private RawClient(Socket socket) => _socket = socket;

    public static async Task<RawClient> ConnectAsync(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint).WaitAsync(TestServer.HangGuard);
        return new RawClient(socket);
    }

    public static byte[] Frame(FrameType type, ulong requestId, IMessage message) => Frame(type, requestId, message.ToByteArray());

    public static byte[] Frame(FrameType type, ulong requestId, ReadOnlySpan<byte> payload)
    {
        var buffer = new ArrayBufferWriter<byte>();
        FrameWriter.Write(buffer, type, requestId, payload);
        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] HelloFrame(uint version = ProtocolVersion.Current) =>
        Frame(FrameType.Hello, 1, new Hello { ProtocolVersion = version, ClientName = "raw" });

    public async Task SendAsync(byte[] bytes) =>
        await _socket.SendAsync(bytes, SocketFlags.None).WaitAsync(TestServer.HangGuard);

    /// <summary>Stops sending (the server sees end of stream) but keeps reading.</summary>
    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    /// <summary>Reads until the server closes the connection; returns every frame it sent.</summary>
    public async Task<List<(FrameHeader Header, byte[] Payload)>> ReadUntilClosedAsync()
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            int read;
            try
            {
                read = await _socket.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TestServer.HangGuard);
            }
            catch (SocketException)
            {
                // A reset after the server's close counts as closed.
                break;
            }

            if (read == 0)
            {
                break;
            }

            _received.AddRange(buffer.AsSpan(0, read));
        }

        return ParseFrames(_received.ToArray());
    }

    /// <summary>Reads until at least <paramref name="count"/> whole frames have arrived.</summary>
    public async Task<List<(FrameHeader Header, byte[] Payload)>> ReadFramesAsync(int count)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var frames = ParseFrames(_received.ToArray());
            if (frames.Count >= count)
            {
                return frames;
            }

            int read = await _socket.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TestServer.HangGuard);
            if (read == 0)
            {
                throw new IOException($"server closed after {frames.Count} of {count} frames");
            }

            _received.AddRange(buffer.AsSpan(0, read));
        }
    }

    public static Error SingleError(List<(FrameHeader Header, byte[] Payload)> frames, ulong expectedRequestId)
    {
        var errors = frames.Where(f => f.Header.Type == FrameType.Error).ToList();
        Assert.Single(errors);
        Assert.Equal(expectedRequestId, errors[0].Header.RequestId);
        return Error.Parser.ParseFrom(errors[0].Payload);
    }

    private static List<(FrameHeader Header, byte[] Payload)> ParseFrames(byte[] bytes)
    {
        var frames = new List<(FrameHeader, byte[])>();
        var sequence = new ReadOnlySequence<byte>(bytes);
        while (FrameReader.TryReadFrame(ref sequence, int.MaxValue, out var frame) == FrameReadStatus.Complete)
        {
            frames.Add((frame.Header, frame.Payload.ToArray()));
        }

        return frames;
    }

    /// <summary>Closes with a TCP reset instead of an orderly shutdown.</summary>
    public void Reset()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
    }

    public void Dispose() => _socket.Dispose();
}
