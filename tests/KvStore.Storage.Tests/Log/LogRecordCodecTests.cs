using System.Buffers.Binary;
using KvStore.Storage.Log;

namespace KvStore.Storage.Tests.Log;

/// <summary>Pins the on-disk record format of the Raft log stores (docs/storage-format.md, "Raft log store").</summary>
public sealed class LogRecordCodecTests
{
    [Fact]
    public void A_hard_state_record_has_the_documented_layout()
    {
        byte[] record = new LogRecordBuilder().HardState(7, new LogHardState(5, 2, 17)).ToArray();

        Assert.Equal(9 + 32, record.Length);
        Assert.Equal(32u, BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(4)));
        Assert.Equal(3, record[8]);
        Assert.Equal(7UL, BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(9)));
        Assert.Equal(5L, BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(17)));
        Assert.Equal(2UL, BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(25)));
        Assert.Equal(17L, BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(33)));
        uint crc = Crc32C.Unmask(BinaryPrimitives.ReadUInt32LittleEndian(record));
        Assert.Equal(Crc32C.Compute(record.AsSpan(4)), crc);
    }

    [Fact]
    public void An_entries_record_has_the_documented_layout_and_payload_offsets()
    {
        LogEntry[] entries = [new(10, 3, 1, "ab"u8.ToArray()), new(11, 4, 2, "xyz"u8.ToArray())];
        var offsets = new int[2];
        byte[] record = new LogRecordBuilder().Entries(42, entries, offsets).ToArray();

        Assert.Equal(2, record[8]);
        Assert.Equal(42UL, BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(9)));
        Assert.Equal(10L, BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(17)));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(25)));
        int first = 29;
        Assert.Equal(3L, BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(first)));
        Assert.Equal(1, record[first + 8]);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(first + 9)));
        Assert.Equal(first + 13, offsets[0]);
        Assert.Equal("ab"u8.ToArray(), record.AsSpan(offsets[0], 2).ToArray());
        Assert.Equal(offsets[0] + 2 + 13, offsets[1]);
        Assert.Equal("xyz"u8.ToArray(), record.AsSpan(offsets[1], 3).ToArray());
        Assert.Equal(offsets[1] + 3, record.Length);
    }

    [Fact]
    public void Every_single_bit_flip_is_detected()
    {
        byte[] record = new LogRecordBuilder().CompactPrefix(3, 100, 9).ToArray();
        Assert.Equal(LogRecordCodec.FrameStatus.Valid, LogRecordCodec.TryReadFrame(record, out LogRecordType type, out _, out int length));
        Assert.Equal(LogRecordType.CompactPrefix, type);
        Assert.Equal(record.Length, length);

        for (int bit = 0; bit < record.Length * 8; bit++)
        {
            byte[] damaged = (byte[])record.Clone();
            damaged[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.NotEqual(LogRecordCodec.FrameStatus.Valid, LogRecordCodec.TryReadFrame(damaged, out _, out _, out _));
        }
    }

    [Fact]
    public void A_cut_record_is_short_not_valid()
    {
        byte[] record = new LogRecordBuilder().RemoveGroup(5).ToArray();
        for (int cut = 0; cut < record.Length; cut++)
        {
            Assert.Equal(LogRecordCodec.FrameStatus.Short, LogRecordCodec.TryReadFrame(record.AsSpan(0, cut), out _, out _, out _));
        }
    }

    [Fact]
    public void A_checkpoint_round_trips_through_replay()
    {
        var source = new RaftLogIndex();
        source.ApplyHardState(1, new LogHardState(3, 2, 1));
        source.ApplyCompactPrefix(2, 50, 4);
        source.ApplyAppend(2, 51, [new LogEntryRef(4, 0, 0, 0, 0, 0)]);
        byte[] record = new LogRecordBuilder().Checkpoint(source.Checkpoint()).ToArray();

        Assert.Equal(LogRecordCodec.FrameStatus.Valid, LogRecordCodec.TryReadFrame(record, out LogRecordType type, out ReadOnlySpan<byte> body, out _));
        var replayed = new RaftLogIndex();
        bool sawCheckpoint = false;
        replayed.Replay(type, body, 0, ref sawCheckpoint);

        Assert.Equal(source.Checkpoint(), replayed.Checkpoint());
        Assert.Equal(new LogHardState(3, 2, 1), replayed.GetHardState(1));

        // Entry 51 existed before the checkpoint; its record is not part of this replay.
        Assert.NotNull(replayed.FindMissingEntries());
        replayed.ApplyCompactPrefix(2, 51, 4);
        Assert.Null(replayed.FindMissingEntries());
    }
}
