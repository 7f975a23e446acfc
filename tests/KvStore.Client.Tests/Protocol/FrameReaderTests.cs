using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using Google.Protobuf;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Client.Tests.Protocol;

public sealed class FrameReaderTests
{
    private static byte[] Frames(params (FrameType Type, ulong Id, byte[] Payload)[] frames)
    {
        var output = new ArrayBufferWriter<byte>();
        foreach (var (type, id, payload) in frames)
        {
            FrameWriter.Write(output, type, id, payload);
        }

        return output.WrittenSpan.ToArray();
    }

    private static List<(FrameHeader Header, byte[] Payload)> ReadAll(ReadOnlySequence<byte> buffer, int maxPayload = int.MaxValue)
    {
        var frames = new List<(FrameHeader, byte[])>();
        while (FrameReader.TryReadFrame(ref buffer, maxPayload, out var frame) == FrameReadStatus.Complete)
        {
            frames.Add((frame.Header, frame.Payload.ToArray()));
        }

        Assert.True(buffer.IsEmpty, "bytes left over after the last whole frame");
        return frames;
    }

    [Fact]
    public void The_header_is_length_type_and_request_id_big_endian()
    {
        var bytes = Frames((FrameType.PutRequest, 0x0102030405060708, [0xAA, 0xBB]));

        Assert.Equal(
            new byte[] { 0, 0, 0, 2, (byte)FrameType.PutRequest, 1, 2, 3, 4, 5, 6, 7, 8, 0xAA, 0xBB },
            bytes);
    }

    [Fact]
    public void A_protobuf_frame_round_trips_through_writer_and_reader()
    {
        var message = new PutRequest { Key = ByteString.CopyFromUtf8("key"), Value = ByteString.CopyFromUtf8("value"), PrevKv = true };
        var output = new ArrayBufferWriter<byte>();
        int written = FrameWriter.Write(output, FrameType.PutRequest, 77, message);

        var buffer = new ReadOnlySequence<byte>(output.WrittenMemory);
        Assert.Equal(FrameReadStatus.Complete, FrameReader.TryReadFrame(ref buffer, 1024, out var frame));

        Assert.Equal(output.WrittenCount, written);
        Assert.True(buffer.IsEmpty);
        Assert.Equal(new FrameHeader((uint)message.CalculateSize(), FrameType.PutRequest, 77), frame.Header);
        Assert.Equal(message, PutRequest.Parser.ParseFrom(frame.Payload));
    }

    [Fact]
    public void The_payload_of_a_frame_in_one_segment_is_a_slice_of_the_buffer_not_a_copy()
    {
        var bytes = Frames((FrameType.RangeRequest, 1, [1, 2, 3]), (FrameType.RangeRequest, 2, [4, 5, 6, 7]));
        var buffer = new ReadOnlySequence<byte>(bytes);

        FrameReader.TryReadFrame(ref buffer, 1024, out _);
        FrameReader.TryReadFrame(ref buffer, 1024, out var second);

        Assert.True(MemoryMarshal.TryGetArray(second.Payload.First, out var segment));
        Assert.Same(bytes, segment.Array);
        Assert.Equal(2 * FrameHeader.Size + 3, segment.Offset);
    }

    [Fact]
    public void Frames_split_across_segments_at_every_position_are_read_intact()
    {
        var expected = new (FrameType, ulong, byte[])[]
        {
            (FrameType.Hello, 1, [9, 8, 7]),
            (FrameType.StatusRequest, 2, []),
            ((FrameType)200, ulong.MaxValue, Enumerable.Range(0, 40).Select(i => (byte)i).ToArray()),
        };
        var bytes = Frames(expected);

        for (int first = 1; first < bytes.Length; first++)
        {
            for (int second = first + 1; second < bytes.Length; second += 7)
            {
                var frames = ReadAll(Segments.Of(bytes[..first], bytes[first..second], bytes[second..]));

                Assert.Equal(expected.Select(e => new FrameHeader((uint)e.Item3.Length, e.Item1, e.Item2)), frames.Select(f => f.Header));
                Assert.Equal(expected.Select(e => e.Item3), frames.Select(f => f.Payload));
            }
        }
    }

    [Fact]
    public void Every_strict_prefix_of_a_frame_is_incomplete_and_leaves_the_buffer_alone()
    {
        var bytes = Frames((FrameType.TxnRequest, 5, new byte[20]));

        for (int length = 0; length < bytes.Length; length++)
        {
            var buffer = new ReadOnlySequence<byte>(bytes, 0, length);
            Assert.Equal(FrameReadStatus.Incomplete, FrameReader.TryReadFrame(ref buffer, 1024, out _));
            Assert.Equal(length, buffer.Length);
        }
    }

    [Fact]
    public void An_oversized_frame_is_reported_from_its_header_alone_with_its_request_id()
    {
        // Only the header has arrived: the reader must not wait for 10 MB to say no.
        var header = new byte[FrameHeader.Size];
        new FrameHeader(10_000_000, FrameType.PutRequest, 31).WriteTo(header);
        var buffer = new ReadOnlySequence<byte>(header);

        var status = FrameReader.TryReadFrame(ref buffer, 4 * 1024 * 1024, out var frame);

        Assert.Equal(FrameReadStatus.TooLarge, status);
        Assert.Equal(10_000_000u, frame.Header.PayloadLength);
        Assert.Equal(31UL, frame.RequestId);
        Assert.Equal(FrameHeader.Size, buffer.Length);
    }

    [Fact]
    public void A_payload_exactly_at_the_limit_is_accepted()
    {
        var buffer = new ReadOnlySequence<byte>(Frames((FrameType.PutRequest, 1, new byte[100])));

        Assert.Equal(FrameReadStatus.Complete, FrameReader.TryReadFrame(ref buffer, 100, out var frame));
        Assert.Equal(100, frame.Payload.Length);
    }

    [Fact]
    public async Task Frames_fed_to_a_pipe_one_byte_at_a_time_are_read_with_consumed_and_examined_positions()
    {
        var expected = Enumerable.Range(1, 20).Select(i => (FrameType.RangeRequest, (ulong)i, Enumerable.Repeat((byte)i, i * 3).ToArray())).ToArray();
        var bytes = Frames(expected);
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));

        var feeder = Task.Run(async () =>
        {
            foreach (var b in bytes)
            {
                await pipe.Writer.WriteAsync(new[] { b });
            }

            await pipe.Writer.CompleteAsync();
        });

        var received = new List<(ulong Id, byte[] Payload)>();
        while (true)
        {
            var result = await pipe.Reader.ReadAsync();
            var buffer = result.Buffer;
            while (FrameReader.TryReadFrame(ref buffer, 1024, out var frame) == FrameReadStatus.Complete)
            {
                received.Add((frame.RequestId, frame.Payload.ToArray()));
            }

            pipe.Reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                Assert.True(buffer.IsEmpty);
                break;
            }
        }

        await feeder;
        Assert.Equal(expected.Select(e => (e.Item2, e.Item3)), received);
    }

    [Fact]
    public void A_multi_segment_payload_is_written_as_one_frame()
    {
        var payload = Segments.Of([1, 2], [3], [4, 5, 6]);
        var output = new ArrayBufferWriter<byte>();

        FrameWriter.Write(output, (FrameType)150, 3, payload);

        var frames = ReadAll(new ReadOnlySequence<byte>(output.WrittenMemory));
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6 }, Assert.Single(frames).Payload);
    }
}
