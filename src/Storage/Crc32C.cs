using System.Buffers.Binary;
using System.Numerics;

namespace KvStore.Storage;

/// <summary>
/// CRC-32C (Castagnoli), hardware accelerated where the CPU has it. Stored CRCs are
/// <see cref="Mask"/>ed, as LevelDB does, because a CRC computed over bytes that contain
/// embedded CRCs is otherwise weak.
/// </summary>
public static class Crc32C
{
    private const uint MaskDelta = 0xa282ead8;

    /// <summary>Extends <paramref name="crc"/> (0 to start) over <paramref name="data"/>.</summary>
    public static uint Extend(uint crc, ReadOnlySpan<byte> data)
    {
        uint c = ~crc;
        while (data.Length >= 8)
        {
            c = BitOperations.Crc32C(c, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (byte b in data)
        {
            c = BitOperations.Crc32C(c, b);
        }

        return ~c;
    }

    public static uint Compute(ReadOnlySpan<byte> data) => Extend(0, data);

    /// <summary>The form in which a CRC is stored.</summary>
    public static uint Mask(uint crc) => ((crc >> 15) | (crc << 17)) + MaskDelta;

    public static uint Unmask(uint masked)
    {
        uint rot = masked - MaskDelta;
        return (rot >> 17) | (rot << 15);
    }
}
