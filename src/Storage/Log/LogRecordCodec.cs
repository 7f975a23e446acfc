using System.Buffers.Binary;

namespace KvStore.Storage.Log;

/// <summary>
/// The record format shared by both Raft log stores: every mutation of the store is one record.
/// </summary>
/// <remarks>
/// <code>
/// record      := crc:u32 | length:u32 | type:u8 | body[length]
///                crc = Crc32C.Mask(CRC-32C of the bytes length | type | body), so a damaged
///                length, type or body is detected before the body is trusted.
/// All integers are little-endian. Bodies by type (LogRecordType; values are on disk, never change them):
///   1 Checkpoint      count:u32, count × group_state
///                     group_state := group:u64 | term:i64 | vote:u64 | commit:i64
///                                  | compacted_index:i64 | compacted_term:i64 | last_index:i64
///   2 Entries         group:u64 | first_index:i64 | count:u32, count × entry
///                     entry := term:i64 | kind:u8 | data_length:u32 | data[data_length]
///   3 HardState       group:u64 | term:i64 | vote:u64 | commit:i64
///   4 TruncateSuffix  group:u64 | from_index:i64
///   5 CompactPrefix   group:u64 | through_index:i64 | term:i64
///   6 RemoveGroup     group:u64
/// </code>
/// A record is applied whole or not at all: an Append of many entries is one record, so a crash
/// can never leave half of it.
/// </remarks>
internal static class LogRecordCodec
{
    public const int HeaderSize = 9;

    /// <summary>Bytes before each entry's payload inside an Entries record.</summary>
    public const int EntryHeaderSize = 13;

    public const int EntriesBodyHeaderSize = 20;

    public const int CheckpointGroupSize = 56;

    /// <summary>Upper bound of a record's body; anything larger in a header is damage, not data.</summary>
    public const int MaxBodyLength = int.MaxValue - 64;

    /// <summary>The outcome of <see cref="TryReadFrame"/>.</summary>
    public enum FrameStatus
    {
        Valid,
        /// <summary>The buffer ends inside the record (a torn write if at the end of the log).</summary>
        Short,
        /// <summary>The CRC does not match or the header is impossible.</summary>
        Damaged,
    }

    /// <summary>Checks the record that starts at <paramref name="data"/>[0].</summary>
    public static FrameStatus TryReadFrame(ReadOnlySpan<byte> data, out LogRecordType type, out ReadOnlySpan<byte> body, out int recordLength)
    {
        type = default;
        body = default;
        recordLength = 0;
        if (data.Length < HeaderSize)
        {
            return FrameStatus.Short;
        }

        uint storedCrc = BinaryPrimitives.ReadUInt32LittleEndian(data);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
        byte rawType = data[8];
        if (length > MaxBodyLength)
        {
            return FrameStatus.Damaged;
        }

        if (data.Length - HeaderSize < length)
        {
            return FrameStatus.Short;
        }

        ReadOnlySpan<byte> covered = data.Slice(4, 5 + (int)length);
        if (Crc32C.Unmask(storedCrc) != Crc32C.Compute(covered))
        {
            return FrameStatus.Damaged;
        }

        if (rawType is < (byte)LogRecordType.Checkpoint or > (byte)LogRecordType.RemoveGroup)
        {
            return FrameStatus.Damaged;
        }

        type = (LogRecordType)rawType;
        body = data.Slice(HeaderSize, (int)length);
        recordLength = HeaderSize + (int)length;
        return FrameStatus.Valid;
    }

    /// <summary>Writes the header of a record whose body is already in place at <paramref name="record"/>[HeaderSize..].</summary>
    public static void Seal(Span<byte> record, LogRecordType type)
    {
        int bodyLength = record.Length - HeaderSize;
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)bodyLength);
        record[8] = (byte)type;
        uint crc = Crc32C.Compute(record[4..]);
        BinaryPrimitives.WriteUInt32LittleEndian(record, Crc32C.Mask(crc));
    }
}
