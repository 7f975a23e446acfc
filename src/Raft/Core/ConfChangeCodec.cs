using System.Buffers;

namespace KvStore.Raft.Core;

/// <summary>
/// Binary encoding of a <see cref="ConfChange"/>, stored as the Data of ConfChange log entries.
/// Format (do not change: it is embedded in persisted logs; bump the version byte instead):
/// <code>
///   byte    version       = 1
///   byte    flags         bit 0: UseJoint, bit 1: AutoLeave; other bits must be 0
///   varint  changeCount
///   changeCount x { byte type (ConfChangeType), varint nodeId }
///   varint  contextLength
///   bytes   context
/// </code>
/// varint = unsigned LEB128 (7 bits per byte, low group first), at most 10 bytes.
/// </summary>
public static class ConfChangeCodec
{
    public const byte Version = 1;
    private const byte FlagUseJoint = 1;
    private const byte FlagAutoLeave = 2;

    public static byte[] Encode(ConfChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var buffer = new ArrayBufferWriter<byte>(16 + change.Changes.Count * 11 + change.Context.Length);
        Span<byte> header = [Version, (byte)((change.UseJoint ? FlagUseJoint : 0) | (change.AutoLeave ? FlagAutoLeave : 0))];
        buffer.Write(header);
        WriteVarint(buffer, (ulong)change.Changes.Count);
        foreach (var c in change.Changes)
        {
            buffer.Write([(byte)c.Type]);
            WriteVarint(buffer, c.NodeId);
        }
        WriteVarint(buffer, (ulong)change.Context.Length);
        buffer.Write(change.Context.Span);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes; throws <see cref="FormatException"/> naming the offset of the first bad byte.</summary>
    public static ConfChange Decode(ReadOnlySpan<byte> data)
    {
        int offset = 0;
        byte version = ReadByte(data, ref offset);
        if (version != Version)
        {
            throw new FormatException($"conf change: unsupported version {version} at offset 0 (expected {Version})");
        }
        byte flags = ReadByte(data, ref offset);
        if ((flags & ~(FlagUseJoint | FlagAutoLeave)) != 0)
        {
            throw new FormatException($"conf change: unknown flags 0x{flags:X2} at offset 1");
        }
        ulong count = ReadVarint(data, ref offset);
        if (count > (ulong)data.Length)
        {
            throw new FormatException($"conf change: change count {count} exceeds the {data.Length}-byte encoding (offset 2)");
        }
        var changes = new List<ConfChangeSingle>((int)count);
        for (ulong i = 0; i < count; i++)
        {
            int typeOffset = offset;
            byte type = ReadByte(data, ref offset);
            if (type > (byte)ConfChangeType.RemoveNode)
            {
                throw new FormatException($"conf change: unknown change type {type} at offset {typeOffset}");
            }
            changes.Add(new ConfChangeSingle((ConfChangeType)type, ReadVarint(data, ref offset)));
        }
        int lengthOffset = offset;
        ulong contextLength = ReadVarint(data, ref offset);
        if (contextLength != (ulong)(data.Length - offset))
        {
            throw new FormatException($"conf change: context length {contextLength} at offset {lengthOffset} does not match the {data.Length - offset} remaining bytes");
        }
        return new ConfChange
        {
            Changes = changes,
            UseJoint = (flags & FlagUseJoint) != 0,
            AutoLeave = (flags & FlagAutoLeave) != 0,
            Context = data[offset..].ToArray(),
        };
    }

    private static void WriteVarint(ArrayBufferWriter<byte> buffer, ulong value)
    {
        Span<byte> tmp = stackalloc byte[10];
        int n = 0;
        while (value >= 0x80)
        {
            tmp[n++] = (byte)(value | 0x80);
            value >>= 7;
        }
        tmp[n++] = (byte)value;
        buffer.Write(tmp[..n]);
    }

    private static byte ReadByte(ReadOnlySpan<byte> data, ref int offset)
    {
        if (offset >= data.Length)
        {
            throw new FormatException($"conf change: truncated at offset {offset} ({data.Length} bytes)");
        }
        return data[offset++];
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int offset)
    {
        int start = offset;
        ulong value = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            byte b = ReadByte(data, ref offset);
            if (shift == 63 && b > 1)
            {
                throw new FormatException($"conf change: varint overflows 64 bits at offset {start}");
            }
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }
        throw new FormatException($"conf change: varint longer than 10 bytes at offset {start}");
    }
}
