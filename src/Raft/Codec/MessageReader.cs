namespace KvStore.Raft.Codec;

/// <summary>
/// Reads the fields of <see cref="MessageCodec"/>'s format, checking every length against
/// the bytes that remain so that truncated or hostile input fails with
/// <see cref="MessageFormatException"/> before anything is allocated for it.
/// </summary>
internal ref struct MessageReader
{
    private readonly ReadOnlySpan<byte> _span;
    // When set, byte fields are returned as slices of it instead of copies.
    private readonly ReadOnlyMemory<byte> _memory;
    private int _position;

    public MessageReader(ReadOnlySpan<byte> span, ReadOnlyMemory<byte> memory)
    {
        _span = span;
        _memory = memory;
        _position = 0;
    }

    public readonly long Position => _position;

    private readonly int Remaining => _span.Length - _position;

    public byte ReadByte(string field)
    {
        if (Remaining < 1)
        {
            throw Truncated(field);
        }

        return _span[_position++];
    }

    public ulong ReadUnsigned(string field)
    {
        int start = _position;
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (Remaining < 1)
            {
                throw Truncated(field);
            }

            byte b = _span[_position++];
            // The tenth byte may only carry the single top bit of a 64-bit value.
            if (shift == 63 && b > 1)
            {
                throw new MessageFormatException(start, $"{field}: varint overflows 64 bits");
            }

            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        throw new MessageFormatException(start, $"{field}: varint longer than 10 bytes");
    }

    public long ReadSigned(string field)
    {
        ulong raw = ReadUnsigned(field);
        return unchecked((long)(raw >> 1) ^ -(long)(raw & 1));
    }

    /// <summary>
    /// A count of items that each take at least <paramref name="minItemBytes"/>: more than the
    /// remaining bytes could hold, or more than <paramref name="max"/>, is malformed.
    /// </summary>
    public int ReadCount(int max, int minItemBytes, string field)
    {
        long at = _position;
        ulong count = ReadUnsigned(field);
        if (count > (ulong)max)
        {
            throw new MessageFormatException(at, $"{field} {count} exceeds the limit {max}");
        }

        if (count * (ulong)minItemBytes > (ulong)Remaining)
        {
            throw new MessageFormatException(at, $"{field} {count} cannot fit in the {Remaining} bytes that remain");
        }

        return (int)count;
    }

    public ReadOnlyMemory<byte> ReadBytes(string field)
    {
        long at = _position;
        ulong length = ReadUnsigned(field + " length");
        if (length > (ulong)Remaining)
        {
            throw new MessageFormatException(at, $"{field} length {length} runs past the end of the frame ({Remaining} bytes remain)");
        }

        int n = (int)length;
        if (n == 0)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        ReadOnlyMemory<byte> result = _memory.IsEmpty
            ? _span.Slice(_position, n).ToArray()
            : _memory.Slice(_position, n);
        _position += n;
        return result;
    }

    public readonly void ExpectEnd()
    {
        if (Remaining != 0)
        {
            throw new MessageFormatException(_position, $"{Remaining} unexpected bytes after the end of the frame");
        }
    }

    private readonly MessageFormatException Truncated(string field) =>
        new(_position, $"frame ends inside {field}");
}
