using System.Buffers.Binary;
using System.Text;
using KvStore.Storage.Lsm;
using KvStore.Storage.Lsm.Table;

namespace KvStore.Storage.Tests.Lsm.Table;

/// <summary>
/// Decodes a table by hand, following docs/storage-format.md ("SSTable") rather than the
/// reader, so the written format and its description cannot drift apart unnoticed.
/// </summary>
public sealed class TableFormatTests : IDisposable
{
    private readonly TableFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void A_table_decodes_by_hand_as_the_format_document_describes()
    {
        var model = TableFiles.NewModel();
        model[InternalKey.Encode("apple"u8, 7, ValueKind.Value)] = "red"u8.ToArray();
        model[InternalKey.Encode("apricot"u8, 9, ValueKind.Value)] = "orange"u8.ToArray();
        model[InternalKey.Encode("apricot"u8, 3, ValueKind.Deletion)] = [];
        model[InternalKey.Encode("banana"u8, 1, ValueKind.Value)] = "yellow"u8.ToArray();
        var (path, properties) = _files.Build(model, new TableOptions { RestartInterval = 2, BloomBitsPerKey = 10 });
        byte[] file = _files.FileSystem.ReadAllBytes(path);

        // Footer: 48 bytes at the end.
        var footer = file.AsSpan(file.Length - 48);
        Assert.Equal(0x4b56535354420001UL, BinaryPrimitives.ReadUInt64LittleEndian(footer[40..]));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(footer[32..]));
        Assert.Equal(Crc32C.Compute(footer[..36]), Crc32C.Unmask(BinaryPrimitives.ReadUInt32LittleEndian(footer[36..])));
        long metaOffset = BinaryPrimitives.ReadInt64LittleEndian(footer);
        long metaSize = BinaryPrimitives.ReadInt64LittleEndian(footer[8..]);
        long indexOffset = BinaryPrimitives.ReadInt64LittleEndian(footer[16..]);
        long indexSize = BinaryPrimitives.ReadInt64LittleEndian(footer[24..]);

        // Metaindex: names in bytewise order.
        var meta = Entries(CheckedContents(file, metaOffset, metaSize));
        Assert.Equal(["filter.blocked-bloom", "kvstore.properties"], meta.Select(e => Encoding.ASCII.GetString(e.Key)));

        // Index: one entry per data block; here one block, separator = short successor of "banana" ("c" + largest trailer).
        var index = Entries(CheckedContents(file, indexOffset, indexSize));
        var (separator, handle) = Assert.Single(index);
        Assert.Equal(InternalKey.Encode("c"u8, InternalKey.MaxSequence, ValueKind.Value), separator);
        var (dataOffset, dataSize) = Handle(handle);
        Assert.Equal(0, dataOffset);
        Assert.Equal(properties.DataBytes, dataSize + 5);

        // Data block: prefix-compressed entries, restart every 2 entries.
        byte[] data = CheckedContents(file, dataOffset, dataSize);
        Assert.Equal(model.Select(e => (e.Key, e.Value)), Entries(data));
        Assert.Equal(2, BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(data.Length - 4)));
        Assert.Equal(0, BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(data.Length - 12)));
        Assert.Equal(0, data[0]); // first entry shares nothing
        Assert.Equal(2, data[(int)(3 + 5 + 8 + 3)]); // "apricot" shares "ap" with "apple"

        // Filter: whole 64-byte blocks, then probes and layout.
        var (filterOffset, filterSize) = Handle(meta[0].Value);
        byte[] filter = CheckedContents(file, filterOffset, filterSize);
        Assert.Equal(0, (filter.Length - 2) % 64);
        Assert.Equal(6, filter[^2]);
        Assert.Equal(1, filter[^1]);
        Assert.True(IsSetInFilter(filter, "apricot"u8));
        Assert.True(IsSetInFilter(filter, "banana"u8));

        // Properties.
        var (propertiesOffset, propertiesSize) = Handle(meta[1].Value);
        byte[] props = CheckedContents(file, propertiesOffset, propertiesSize);
        int p = 0;
        Assert.Equal(4UL, ReadVarint(props, ref p));
        Assert.Equal((ulong)properties.DataBytes, ReadVarint(props, ref p));
        Assert.Equal((ulong)properties.IndexBytes, ReadVarint(props, ref p));
        Assert.Equal((ulong)properties.FilterBytes, ReadVarint(props, ref p));
        int smallestLength = (int)ReadVarint(props, ref p);
        Assert.Equal(model.Keys.First(), props.AsSpan(p, smallestLength).ToArray());
    }

    /// <summary>The filter rule from the document: XXH64, block from the high half, enhanced double hashing mod 512.</summary>
    private static bool IsSetInFilter(byte[] filter, ReadOnlySpan<byte> key)
    {
        ulong hash = BloomFilter.Hash(key);
        int blocks = (filter.Length - 2) / 64;
        int block = (int)(((hash >> 32) * (ulong)blocks) >> 32);
        ulong h1 = hash & 511;
        ulong h2 = (hash >> 9) & 511;
        for (ulong i = 0; i < filter[^2]; i++)
        {
            ulong bit = (h1 + (i * h2) + (((i * i * i) - i) / 6)) % 512;
            ulong word = BinaryPrimitives.ReadUInt64LittleEndian(filter.AsSpan((block * 64) + (int)(bit / 64 * 8)));
            if ((word & (1UL << (int)(bit % 64))) == 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Block contents after checking the trailer: type 0, masked CRC32C over contents and type.</summary>
    private static byte[] CheckedContents(byte[] file, long offset, long size)
    {
        Assert.Equal(0, file[offset + size]);
        uint stored = Crc32C.Unmask(BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan((int)(offset + size + 1))));
        Assert.Equal(Crc32C.Compute(file.AsSpan((int)offset, (int)size + 1)), stored);
        return file.AsSpan((int)offset, (int)size).ToArray();
    }

    private static List<(byte[] Key, byte[] Value)> Entries(byte[] contents)
    {
        int restarts = BinaryPrimitives.ReadInt32LittleEndian(contents.AsSpan(contents.Length - 4));
        int end = contents.Length - 4 - (4 * restarts);
        var entries = new List<(byte[], byte[])>();
        byte[] key = [];
        for (int p = 0; p < end;)
        {
            int shared = (int)ReadVarint(contents, ref p);
            int unshared = (int)ReadVarint(contents, ref p);
            int valueLength = (int)ReadVarint(contents, ref p);
            key = [.. key.AsSpan(0, shared), .. contents.AsSpan(p, unshared)];
            p += unshared;
            entries.Add((key, contents.AsSpan(p, valueLength).ToArray()));
            p += valueLength;
        }

        return entries;
    }

    private static (long Offset, long Size) Handle(byte[] encoded)
    {
        int p = 0;
        long offset = (long)ReadVarint(encoded, ref p);
        long size = (long)ReadVarint(encoded, ref p);
        Assert.Equal(encoded.Length, p);
        return (offset, size);
    }

    private static ulong ReadVarint(byte[] bytes, ref int p)
    {
        ulong value = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = bytes[p++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}
