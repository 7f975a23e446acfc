using System.Buffers;
using KvStore.Raft.Codec;
using KvStore.Raft.Core;

namespace KvStore.Raft.Tests.Codec;

public sealed class MessageCodecTests
{
    public static TheoryData<MessageType> AllTypes()
    {
        var data = new TheoryData<MessageType>();
        foreach (var type in Enum.GetValues<MessageType>())
        {
            data.Add(type);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void Random_messages_of_every_type_round_trip_through_span_memory_and_sequence(MessageType type)
    {
        var rng = new Random(1000 + (int)type);
        for (int i = 0; i < 200; i++)
        {
            var original = RandomMessages.Create(rng, type);
            byte[] bytes = MessageCodec.Encode(original);
            string expected = RandomMessages.Describe(original);

            Assert.Equal(expected, RandomMessages.Describe(MessageCodec.Decode(bytes.AsSpan())));
            Assert.Equal(expected, RandomMessages.Describe(MessageCodec.Decode(bytes.AsMemory())));
            Assert.Equal(expected, RandomMessages.Describe(MessageCodec.Decode(SplitIntoSegments(bytes, rng))));
        }
    }

    [Fact]
    public void A_batch_of_many_groups_round_trips_in_order()
    {
        var rng = new Random(7);
        var types = Enum.GetValues<MessageType>();
        var batch = Enumerable.Range(0, 500).Select(_ => RandomMessages.Create(rng, types[rng.Next(types.Length)])).ToList();
        var buffer = new ArrayBufferWriter<byte>();
        MessageCodec.EncodeBatch(batch, buffer);
        byte[] bytes = buffer.WrittenSpan.ToArray();

        var expected = batch.Select(RandomMessages.Describe).ToList();
        Assert.Equal(expected, MessageCodec.DecodeBatch(bytes.AsSpan()).Select(RandomMessages.Describe).ToList());
        Assert.Equal(expected, MessageCodec.DecodeBatch(bytes.AsMemory()).Select(RandomMessages.Describe).ToList());
        Assert.Equal(expected, MessageCodec.DecodeBatch(SplitIntoSegments(bytes, rng)).Select(RandomMessages.Describe).ToList());
    }

    [Fact]
    public void An_empty_batch_round_trips()
    {
        var buffer = new ArrayBufferWriter<byte>();
        MessageCodec.EncodeBatch([], buffer);
        Assert.Empty(MessageCodec.DecodeBatch(buffer.WrittenSpan));
    }

    [Fact]
    public void Append_of_consecutive_entries_costs_little_more_than_the_payload()
    {
        var entries = Enumerable.Range(0, 100)
            .Select(i => Entry.Normal(1_000_001 + i, 42, new byte[128]))
            .ToArray();
        var append = new Message
        {
            Type = MessageType.Append, Group = 3, From = 1, To = 2, Term = 42,
            LogTerm = 42, Index = 1_000_000, Commit = 999_990, Entries = entries,
        };

        int size = MessageCodec.Encode(append).Length;

        // Per entry: type, index delta, term delta, length (1+1+1+2) = 5 bytes of framing.
        Assert.True(size <= 100 * (128 + 5) + 32, $"append of 100 x 128-byte entries encoded to {size} bytes");
    }

    [Fact]
    public void Every_truncation_of_a_valid_frame_fails_with_a_format_error()
    {
        var rng = new Random(11);
        var types = Enum.GetValues<MessageType>();
        for (int i = 0; i < 50; i++)
        {
            var message = RandomMessages.Create(rng, types[rng.Next(types.Length)]);
            byte[] bytes = MessageCodec.Encode(message);
            for (int cut = 0; cut < bytes.Length; cut++)
            {
                var prefix = bytes.AsMemory(0, cut);
                Assert.Throws<MessageFormatException>(() => MessageCodec.Decode(prefix.Span));
            }

            var buffer = new ArrayBufferWriter<byte>();
            MessageCodec.EncodeBatch([message, message], buffer);
            byte[] batch = buffer.WrittenSpan.ToArray();
            for (int cut = 0; cut < batch.Length; cut++)
            {
                var prefix = batch.AsMemory(0, cut);
                Assert.Throws<MessageFormatException>(() => MessageCodec.DecodeBatch(prefix.Span));
            }
        }
    }

    [Fact]
    public void Trailing_bytes_after_a_frame_are_rejected()
    {
        byte[] bytes = MessageCodec.Encode(new Message { Type = MessageType.Heartbeat, From = 1, To = 2, Term = 3 });
        byte[] longer = [.. bytes, 0];
        var error = Assert.Throws<MessageFormatException>(() => MessageCodec.Decode(longer.AsSpan()));
        Assert.Equal(bytes.Length, error.Offset);
    }

    [Fact]
    public void Random_garbage_never_escapes_as_anything_but_a_format_error()
    {
        var rng = new Random(13);
        var buffer = new byte[256];
        for (int i = 0; i < 20_000; i++)
        {
            int length = rng.Next(0, buffer.Length);
            rng.NextBytes(buffer);
            // Half the inputs carry the right version byte so the decoder gets past it.
            if (rng.Next(2) == 0 && length > 0)
            {
                buffer[0] = MessageCodec.Version;
            }

            var input = buffer.AsSpan(0, length);
            try
            {
                MessageCodec.DecodeBatch(input);
            }
            catch (MessageFormatException)
            {
            }

            try
            {
                MessageCodec.Decode(buffer.AsMemory(0, length));
            }
            catch (MessageFormatException)
            {
            }
        }
    }

    [Fact]
    public void Bit_flips_in_valid_frames_never_escape_as_anything_but_a_format_error()
    {
        var rng = new Random(17);
        var types = Enum.GetValues<MessageType>();
        for (int i = 0; i < 2_000; i++)
        {
            byte[] bytes = MessageCodec.Encode(RandomMessages.Create(rng, types[rng.Next(types.Length)]));
            bytes[rng.Next(bytes.Length)] ^= (byte)(1 << rng.Next(8));
            try
            {
                MessageCodec.Decode(bytes.AsSpan());
            }
            catch (MessageFormatException)
            {
            }
        }
    }

    [Fact]
    public void A_huge_declared_count_is_rejected_before_allocating()
    {
        // version 1, message count = 2^40 as a varint.
        byte[] frame = [MessageCodec.Version, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20];
        var error = Assert.Throws<MessageFormatException>(() => MessageCodec.DecodeBatch(frame.AsSpan()));
        Assert.Contains("message count", error.Message);
        Assert.Equal(1, error.Offset);
    }

    [Fact]
    public void A_payload_length_past_the_end_is_rejected_with_its_offset()
    {
        var heartbeat = MessageCodec.Encode(new Message { Type = MessageType.ReadIndex, From = 1, To = 2, Payload = new byte[] { 1, 2, 3 } });
        // The payload length is the fourth byte from the end (length 3 then three bytes); claim 100.
        heartbeat[^4] = 100;
        var error = Assert.Throws<MessageFormatException>(() => MessageCodec.Decode(heartbeat.AsSpan()));
        Assert.Contains("payload", error.Message);
        Assert.Equal(heartbeat.Length - 4, error.Offset);
    }

    [Fact]
    public void An_unknown_version_is_named_in_the_error()
    {
        byte[] bytes = MessageCodec.Encode(new Message { Type = MessageType.Heartbeat });
        bytes[0] = 9;
        var error = Assert.Throws<MessageFormatException>(() => MessageCodec.Decode(bytes.AsSpan()));
        Assert.Contains("version 9", error.Message);
    }

    [Fact]
    public void An_overlong_varint_is_rejected()
    {
        // version, type Heartbeat, flags 0, then a group varint of eleven continuation bytes.
        byte[] frame = [MessageCodec.Version, (byte)MessageType.Heartbeat, 0, .. Enumerable.Repeat((byte)0xFF, 11)];
        var error = Assert.Throws<MessageFormatException>(() => MessageCodec.Decode(frame.AsSpan()));
        Assert.Contains("group", error.Message);
    }

    [Fact]
    public void Decoding_from_memory_slices_instead_of_copying()
    {
        byte[] bytes = MessageCodec.Encode(new Message
        {
            Type = MessageType.Append, Index = 4, LogTerm = 1,
            Entries = [Entry.Normal(5, 1, new byte[] { 9, 9, 9 })],
        });
        var decoded = MessageCodec.Decode(bytes.AsMemory());
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(decoded.Entries[0].Data, out var segment));
        Assert.Same(bytes, segment.Array);
    }

    private static ReadOnlySequence<byte> SplitIntoSegments(byte[] bytes, Random rng)
    {
        if (bytes.Length < 2)
        {
            return new ReadOnlySequence<byte>(bytes);
        }

        int cut1 = rng.Next(1, bytes.Length);
        var first = new Segment(bytes.AsMemory(0, cut1), 0);
        var last = first.Append(bytes.AsMemory(cut1));
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
