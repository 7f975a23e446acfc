using System.Buffers.Binary;

namespace KvStore.Storage.Lsm.Records;

/// <summary>
/// Framing of the WAL (<c>NNNNNN.log</c>) and manifest (<c>MANIFEST-NNNNNN</c>) files: a
/// sequence of records, each
/// <code>
///   payload length : uint32 little-endian
///   payload CRC    : uint32 little-endian, masked CRC32C of the payload
///   header CRC     : uint32 little-endian, masked CRC32C of the 8 bytes above
///   payload        : length bytes
/// </code>
/// There is no block structure and no padding. The header has its own CRC so a damaged
/// length is detected before it is trusted. Recovery (see <see cref="RecordReader"/>):
/// a bad or incomplete record after which no intact record follows is a torn tail (the
/// unsynced end of the last write) and is cut; a bad record followed by an intact one is
/// corruption of durable data and raises <see cref="StorageCorruptionException"/>.
/// Do not change: embedded in on-disk data.
/// </summary>
internal static class RecordFormat
{
    public const int HeaderSize = 12;

    /// <summary>Upper bound on one payload; larger lengths are treated as damage.</summary>
    public const int MaxPayload = 1 << 30;

    public static void WriteHeader(Span<byte> header, ReadOnlySpan<byte> payload)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], Crc32C.Mask(Crc32C.Compute(payload)));
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Crc32C.Mask(Crc32C.Compute(header[..8])));
    }

    /// <summary>Whether the header's own CRC holds; then <paramref name="length"/> can be trusted.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> header, out int length, out uint payloadCrc)
    {
        uint stored = Crc32C.Unmask(BinaryPrimitives.ReadUInt32LittleEndian(header[8..]));
        uint raw = BinaryPrimitives.ReadUInt32LittleEndian(header);
        payloadCrc = Crc32C.Unmask(BinaryPrimitives.ReadUInt32LittleEndian(header[4..]));
        length = (int)Math.Min(raw, int.MaxValue);
        return stored == Crc32C.Compute(header[..8]) && raw <= MaxPayload;
    }
}
