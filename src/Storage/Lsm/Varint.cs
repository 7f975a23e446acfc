using System.Buffers;

namespace KvStore.Storage.Lsm;

/// <summary>
/// LEB128 unsigned integers (7 bits per byte, high bit = more), as LevelDB's varint64,
/// used inside write-batch and version-edit records.
/// </summary>
internal static class Varint
{
    public const int MaxLength = 10;

    public static void Write(IBufferWriter<byte> writer, ulong value)
    {
        Span<byte> span = writer.GetSpan(MaxLength);
        int n = 0;
        while (value >= 0x80)
        {
            span[n++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[n++] = (byte)value;
        writer.Advance(n);
    }

    public static void WriteBytes(IBufferWriter<byte> writer, ReadOnlySpan<byte> bytes)
    {
        Write(writer, (ulong)bytes.Length);
        writer.Write(bytes);
    }

    /// <summary>Reads a varint at <paramref name="position"/>; false if the bytes end first or it is over-long.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, scoped ref int position, out ulong value)
    {
        value = 0;
        for (int shift = 0; shift < 64 && position < source.Length; shift += 7)
        {
            byte b = source[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Reads a length-prefixed byte string; false if it runs past the end.</summary>
    public static bool TryReadBytes(ReadOnlySpan<byte> source, scoped ref int position, out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        if (!TryRead(source, ref position, out ulong length) || length > (ulong)(source.Length - position))
        {
            return false;
        }

        bytes = source.Slice(position, (int)length);
        position += (int)length;
        return true;
    }
}
