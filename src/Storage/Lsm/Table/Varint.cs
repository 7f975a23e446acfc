namespace KvStore.Storage.Lsm.Table;

/// <summary>LEB128 varints as used in table blocks: 7 bits per byte, low group first, high bit = more.</summary>
internal static class Varint
{
    public const int MaxLength32 = 5;

    public const int MaxLength64 = 10;

    public static int Write(Span<byte> destination, ulong value)
    {
        int i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    public static int Length(ulong value)
    {
        int n = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            n++;
        }

        return n;
    }

    /// <summary>Reads a varint64; returns the bytes consumed, or 0 when truncated or longer than 10 bytes.</summary>
    public static int TryRead64(ReadOnlySpan<byte> source, out ulong value)
    {
        value = 0;
        int limit = Math.Min(source.Length, MaxLength64);
        for (int i = 0, shift = 0; i < limit; i++, shift += 7)
        {
            byte b = source[i];
            if (i == MaxLength64 - 1 && b > 1)
            {
                return 0; // would overflow 64 bits
            }

            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return i + 1;
            }
        }

        value = 0;
        return 0;
    }

    /// <summary>Reads a varint that must fit a non-negative int; returns the bytes consumed, or 0 when malformed.</summary>
    public static int TryReadInt32(ReadOnlySpan<byte> source, out int value)
    {
        uint result = 0;
        int limit = Math.Min(source.Length, MaxLength32);
        for (int i = 0, shift = 0; i < limit; i++, shift += 7)
        {
            byte b = source[i];
            result |= (uint)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                if (i == MaxLength32 - 1 && b > 0x07)
                {
                    break; // more than 31 bits
                }

                value = (int)result;
                return i + 1;
            }
        }

        value = 0;
        return 0;
    }
}
