using System.Buffers.Binary;

namespace KvStore.Storage.Lsm.Records;

/// <summary>
/// The payload of one WAL record (framed by <see cref="RecordFormat"/>): one write batch.
/// <code>
///   first sequence : uint64 little-endian (operation i gets first + i)
///   applied index  : int64 little-endian (Raft index the batch applies; 0 if none)
///   count          : uint32 little-endian
///   operations     : count encoded operations (see <see cref="WriteBatch"/>)
/// </code>
/// Do not change: embedded in on-disk data.
/// </summary>
internal static class WalRecord
{
    public const int HeaderSize = 20;

    public static byte[] Encode(ulong firstSequence, long appliedIndex, WriteBatch batch)
    {
        ReadOnlySpan<byte> operations = batch.Operations;
        var payload = new byte[HeaderSize + operations.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(payload, firstSequence);
        BinaryPrimitives.WriteInt64LittleEndian(payload.AsSpan(8), appliedIndex);
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(16), (uint)batch.Count);
        operations.CopyTo(payload.AsSpan(HeaderSize));
        return payload;
    }

    /// <summary>Applies a record's operations to <paramref name="memtable"/>; returns the last sequence used.</summary>
    public static ulong Replay(ReadOnlySpan<byte> payload, Memtable memtable, string file, long offset)
    {
        if (payload.Length < HeaderSize)
        {
            throw new StorageCorruptionException(file, offset, "WAL record shorter than its header");
        }

        ulong sequence = BinaryPrimitives.ReadUInt64LittleEndian(payload);
        long applied = BinaryPrimitives.ReadInt64LittleEndian(payload[8..]);
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(payload[16..]);
        var reader = new WriteBatchReader(payload[HeaderSize..]);
        uint seen = 0;
        try
        {
            while (reader.TryNext(out ValueKind kind, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value))
            {
                if (seen == count || sequence + seen > InternalKey.MaxSequence)
                {
                    throw new InvalidDataException("more operations than the record's count");
                }

                memtable.Add(sequence + seen, kind, key, value);
                seen++;
            }
        }
        catch (InvalidDataException e)
        {
            throw new StorageCorruptionException(file, offset, $"bad WAL record: {e.Message}");
        }

        if (seen != count)
        {
            throw new StorageCorruptionException(file, offset, $"WAL record holds {seen} operations, header says {count}");
        }

        memtable.NoteAppliedIndex(applied);
        return count == 0 ? sequence - 1 : sequence + count - 1;
    }
}
