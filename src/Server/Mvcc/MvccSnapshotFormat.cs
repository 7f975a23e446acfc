using System.Buffers;
using System.Buffers.Binary;
using KvStore.Storage;

namespace KvStore.Server.Mvcc;

/// <summary>
/// The state machine snapshot: every LSM entry of the store (versions, events, meta, sessions),
/// CRC-protected. Sent to followers in chunks by the Raft host and kept in its snapshot store.
/// </summary>
/// <remarks>
/// Layout (do not change; a new layout gets a new format version):
/// <code>
///   magic         8 bytes  "KVSMVCC\0"
///   version       u32 LE   1
///   applied index i64 LE   the Raft index the contents reflect
///   entry count   u64 LE
///   entries       count × ( key length u32 LE | key | value length u32 LE | value ), in key order
///   crc           u32 LE   CRC32C (masked, as in the LSM) of every byte before it
/// </code>
/// A reader checks the length, magic, version and CRC before it trusts any entry, so corrupted
/// bytes are reported (<see cref="StorageCorruptionException"/>, naming the offset) and never loaded.
/// </remarks>
public static class MvccSnapshotFormat
{
    public const uint FormatVersion = 1;
    private const int HeaderSize = 8 + 4 + 8 + 8;
    private const int CrcSize = 4;
    private static ReadOnlySpan<byte> Magic => "KVSMVCC\0"u8;

    public static byte[] Write(long appliedIndex, IEnumerable<(byte[] Key, byte[] Value)> entries)
    {
        var buffer = new ArrayBufferWriter<byte>(1 << 16);
        Span<byte> header = buffer.GetSpan(HeaderSize);
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], FormatVersion);
        BinaryPrimitives.WriteInt64LittleEndian(header[12..], appliedIndex);
        buffer.Advance(HeaderSize);
        ulong count = 0;
        foreach ((byte[] key, byte[] value) in entries)
        {
            WriteBytes(buffer, key);
            WriteBytes(buffer, value);
            count++;
        }

        byte[] bytes = new byte[buffer.WrittenCount + CrcSize];
        buffer.WrittenSpan.CopyTo(bytes);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(20), count);
        uint crc = Crc32C.Mask(Crc32C.Compute(bytes.AsSpan(0, bytes.Length - CrcSize)));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(bytes.Length - CrcSize), crc);
        return bytes;
    }

    /// <summary>Checks and decodes a snapshot; <paramref name="source"/> names it in errors.</summary>
    public static (long AppliedIndex, List<(byte[] Key, byte[] Value)> Entries) Read(ReadOnlySpan<byte> bytes, string source)
    {
        if (bytes.Length < HeaderSize + CrcSize)
        {
            throw new StorageCorruptionException(source, 0, $"snapshot of {bytes.Length} bytes is shorter than its header and checksum");
        }

        if (!bytes[..8].SequenceEqual(Magic))
        {
            throw new StorageCorruptionException(source, 0, "not an MVCC snapshot (bad magic)");
        }

        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(bytes[^CrcSize..]);
        uint actual = Crc32C.Mask(Crc32C.Compute(bytes[..^CrcSize]));
        if (stored != actual)
        {
            throw new StorageCorruptionException(source, bytes.Length - CrcSize, $"snapshot checksum mismatch (stored {stored:x8}, computed {actual:x8})");
        }

        uint version = BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]);
        if (version != FormatVersion)
        {
            throw new StorageCorruptionException(source, 8, $"snapshot format version {version} is not supported (expected {FormatVersion})");
        }

        long appliedIndex = BinaryPrimitives.ReadInt64LittleEndian(bytes[12..]);
        ulong count = BinaryPrimitives.ReadUInt64LittleEndian(bytes[20..]);
        ReadOnlySpan<byte> body = bytes[..^CrcSize];
        int position = HeaderSize;
        var entries = new List<(byte[], byte[])>();
        for (ulong i = 0; i < count; i++)
        {
            byte[] key = ReadBytes(body, ref position, source);
            byte[] value = ReadBytes(body, ref position, source);
            entries.Add((key, value));
        }

        if (position != body.Length)
        {
            throw new StorageCorruptionException(source, position, $"{body.Length - position} bytes after the last of {count} entries");
        }

        return (appliedIndex, entries);
    }

    private static void WriteBytes(ArrayBufferWriter<byte> buffer, byte[] data)
    {
        Span<byte> span = buffer.GetSpan(4 + data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)data.Length);
        data.CopyTo(span[4..]);
        buffer.Advance(4 + data.Length);
    }

    private static byte[] ReadBytes(ReadOnlySpan<byte> body, ref int position, string source)
    {
        if (body.Length - position < 4)
        {
            throw new StorageCorruptionException(source, position, "entry length runs past the end of the snapshot");
        }

        uint length = BinaryPrimitives.ReadUInt32LittleEndian(body[position..]);
        position += 4;
        if (length > (uint)(body.Length - position))
        {
            throw new StorageCorruptionException(source, position - 4, $"entry of {length} bytes runs past the end of the snapshot");
        }

        byte[] data = body.Slice(position, (int)length).ToArray();
        position += (int)length;
        return data;
    }
}
