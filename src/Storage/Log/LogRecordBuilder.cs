using System.Buffers.Binary;

namespace KvStore.Storage.Log;

/// <summary>
/// Encodes store mutations as framed records (<see cref="LogRecordCodec"/>) into one reused buffer,
/// so the write path allocates nothing once the buffer has grown to the largest batch.
/// A returned span is valid until the next call.
/// </summary>
internal sealed class LogRecordBuilder
{
    private byte[] _buffer = new byte[4096];

    public ReadOnlySpan<byte> Entries(ulong group, ReadOnlySpan<LogEntry> entries, Span<int> payloadOffsets)
    {
        long size = LogRecordCodec.HeaderSize + LogRecordCodec.EntriesBodyHeaderSize;
        foreach (LogEntry entry in entries)
        {
            size += LogRecordCodec.EntryHeaderSize + entry.Data.Length;
        }

        if (size - LogRecordCodec.HeaderSize > LogRecordCodec.MaxBodyLength)
        {
            throw new ArgumentException($"an append of {size} bytes is larger than one record may be; split it", nameof(entries));
        }

        Span<byte> record = Reserve((int)size);
        Span<byte> body = record[LogRecordCodec.HeaderSize..];
        BinaryPrimitives.WriteUInt64LittleEndian(body, group);
        BinaryPrimitives.WriteInt64LittleEndian(body[8..], entries[0].Index);
        BinaryPrimitives.WriteUInt32LittleEndian(body[16..], (uint)entries.Length);
        int at = LogRecordCodec.HeaderSize + LogRecordCodec.EntriesBodyHeaderSize;
        for (int i = 0; i < entries.Length; i++)
        {
            LogEntry entry = entries[i];
            BinaryPrimitives.WriteInt64LittleEndian(record[at..], entry.Term);
            record[at + 8] = entry.Type;
            BinaryPrimitives.WriteUInt32LittleEndian(record[(at + 9)..], (uint)entry.Data.Length);
            at += LogRecordCodec.EntryHeaderSize;
            entry.Data.Span.CopyTo(record[at..]);
            payloadOffsets[i] = at;
            at += entry.Data.Length;
        }

        LogRecordCodec.Seal(record, LogRecordType.Entries);
        return record;
    }

    public ReadOnlySpan<byte> HardState(ulong group, LogHardState state)
    {
        Span<byte> record = Reserve(LogRecordCodec.HeaderSize + 32);
        Span<byte> body = record[LogRecordCodec.HeaderSize..];
        BinaryPrimitives.WriteUInt64LittleEndian(body, group);
        BinaryPrimitives.WriteInt64LittleEndian(body[8..], state.Term);
        BinaryPrimitives.WriteUInt64LittleEndian(body[16..], state.Vote);
        BinaryPrimitives.WriteInt64LittleEndian(body[24..], state.Commit);
        LogRecordCodec.Seal(record, LogRecordType.HardState);
        return record;
    }

    public ReadOnlySpan<byte> TruncateSuffix(ulong group, long fromIndex)
    {
        Span<byte> record = Reserve(LogRecordCodec.HeaderSize + 16);
        Span<byte> body = record[LogRecordCodec.HeaderSize..];
        BinaryPrimitives.WriteUInt64LittleEndian(body, group);
        BinaryPrimitives.WriteInt64LittleEndian(body[8..], fromIndex);
        LogRecordCodec.Seal(record, LogRecordType.TruncateSuffix);
        return record;
    }

    public ReadOnlySpan<byte> CompactPrefix(ulong group, long throughIndex, long term)
    {
        Span<byte> record = Reserve(LogRecordCodec.HeaderSize + 24);
        Span<byte> body = record[LogRecordCodec.HeaderSize..];
        BinaryPrimitives.WriteUInt64LittleEndian(body, group);
        BinaryPrimitives.WriteInt64LittleEndian(body[8..], throughIndex);
        BinaryPrimitives.WriteInt64LittleEndian(body[16..], term);
        LogRecordCodec.Seal(record, LogRecordType.CompactPrefix);
        return record;
    }

    public ReadOnlySpan<byte> RemoveGroup(ulong group)
    {
        Span<byte> record = Reserve(LogRecordCodec.HeaderSize + 8);
        BinaryPrimitives.WriteUInt64LittleEndian(record[LogRecordCodec.HeaderSize..], group);
        LogRecordCodec.Seal(record, LogRecordType.RemoveGroup);
        return record;
    }

    public ReadOnlySpan<byte> Checkpoint(IReadOnlyList<CheckpointGroupState> groups)
    {
        Span<byte> record = Reserve(LogRecordCodec.HeaderSize + 4 + (groups.Count * LogRecordCodec.CheckpointGroupSize));
        Span<byte> body = record[LogRecordCodec.HeaderSize..];
        BinaryPrimitives.WriteUInt32LittleEndian(body, (uint)groups.Count);
        int at = 4;
        foreach (CheckpointGroupState g in groups)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(body[at..], g.Group);
            BinaryPrimitives.WriteInt64LittleEndian(body[(at + 8)..], g.HardState.Term);
            BinaryPrimitives.WriteUInt64LittleEndian(body[(at + 16)..], g.HardState.Vote);
            BinaryPrimitives.WriteInt64LittleEndian(body[(at + 24)..], g.HardState.Commit);
            BinaryPrimitives.WriteInt64LittleEndian(body[(at + 32)..], g.CompactedIndex);
            BinaryPrimitives.WriteInt64LittleEndian(body[(at + 40)..], g.CompactedTerm);
            BinaryPrimitives.WriteInt64LittleEndian(body[(at + 48)..], g.LastIndex);
            at += LogRecordCodec.CheckpointGroupSize;
        }

        LogRecordCodec.Seal(record, LogRecordType.Checkpoint);
        return record;
    }

    private Span<byte> Reserve(int size)
    {
        if (_buffer.Length < size)
        {
            _buffer = new byte[Math.Max(size, Math.Min(_buffer.Length * 2L, Array.MaxLength))];
        }

        return _buffer.AsSpan(0, size);
    }
}
