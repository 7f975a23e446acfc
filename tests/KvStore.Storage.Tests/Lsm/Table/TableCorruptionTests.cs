using System.Buffers.Binary;
using KvStore.Storage.IO;
using KvStore.Storage.Lsm;
using KvStore.Storage.Lsm.Table;

namespace KvStore.Storage.Tests.Lsm.Table;

/// <summary>Damaged tables raise <see cref="StorageCorruptionException"/> naming the file and offset; they never return wrong data or crash otherwise.</summary>
public sealed class TableCorruptionTests : IDisposable
{
    private readonly TableFiles _files = new();

    public enum Region
    {
        DataBlock,
        FilterBlock,
        IndexBlock,
        PropertiesBlock,
        MetaIndexBlock,
        Footer,
    }

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData(Region.DataBlock)]
    [InlineData(Region.FilterBlock)]
    [InlineData(Region.IndexBlock)]
    [InlineData(Region.PropertiesBlock)]
    [InlineData(Region.MetaIndexBlock)]
    [InlineData(Region.Footer)]
    public void A_flipped_bit_is_reported_with_file_and_offset(Region region)
    {
        var model = TableRoundTripTests.Generate(new Random(11), 3000, TableRoundTripTests.KeyShape.Short);
        var (path, properties) = _files.Build(model, new TableOptions());
        var (start, end) = Locate(path, properties, region);
        var random = new Random((int)region);
        for (int trial = 0; trial < 40; trial++)
        {
            long offset = start + random.NextInt64(end - start);
            int bit = random.Next(8);
            _files.FileSystem.FlipBit(path, offset, bit);
            var error = Assert.Throws<StorageCorruptionException>(() => OpenAndReadEverything(path, model, new TableOptions()));
            Assert.Equal(path, error.File);
            Assert.Contains(path, error.Message);
            Assert.InRange(error.Offset, region == Region.DataBlock ? 0 : start - 64 * 1024, end);
            if (region != Region.DataBlock && region != Region.Footer)
            {
                // Metadata blocks are checked when the table is opened: the block's own offset is named.
                Assert.InRange(error.Offset, start, end);
            }

            _files.FileSystem.FlipBit(path, offset, bit);
        }

        OpenAndReadEverything(path, model, new TableOptions()); // restored: reads again
    }

    [Fact]
    public void A_flipped_bit_in_a_data_block_fails_the_read_not_the_open()
    {
        var model = TableRoundTripTests.Generate(new Random(12), 3000, TableRoundTripTests.KeyShape.Short);
        var (path, properties) = _files.Build(model, new TableOptions());
        _files.FileSystem.FlipBit(path, properties.DataBytes / 2, 3);
        using var reader = _files.Open(path, new TableOptions());
        using var iterator = reader.NewIterator();
        var error = Assert.Throws<StorageCorruptionException>(() =>
        {
            for (iterator.SeekToFirst(); iterator.Valid; iterator.Next())
            {
            }
        });
        Assert.Equal(path, error.File);
        Assert.InRange(error.Offset, properties.DataBytes / 2 - (2 * 4096), properties.DataBytes / 2);
        Assert.Contains("checksum", error.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(47)]
    [InlineData(48)]
    [InlineData(-1)]
    [InlineData(-47)]
    [InlineData(-48)]
    [InlineData(-49)]
    [InlineData(-5000)]
    public void A_truncated_table_is_reported_when_opened(long cut)
    {
        var model = TableRoundTripTests.Generate(new Random(13), 2000, TableRoundTripTests.KeyShape.Short);
        var (path, properties) = _files.Build(model, new TableOptions());
        long length = cut >= 0 ? cut : properties.FileSize + cut;
        _files.Truncate(path, length);
        var error = Assert.Throws<StorageCorruptionException>(() => _files.Open(path, new TableOptions()));
        Assert.Equal(path, error.File);
        Assert.InRange(error.Offset, 0, length);
    }

    [Fact]
    public void A_footer_with_a_valid_checksum_but_a_handle_past_the_end_is_rejected()
    {
        var model = TableRoundTripTests.Generate(new Random(14), 500, TableRoundTripTests.KeyShape.Short);
        var (path, properties) = _files.Build(model, new TableOptions());
        long footerOffset = properties.FileSize - TableFormat.FooterLength;
        byte[] footer = new byte[TableFormat.FooterLength];
        new Footer(new BlockHandle(10, 20), new BlockHandle(properties.FileSize - 10, 4000)).Encode(footer);
        using (var file = _files.FileSystem.Open(path, OpenMode.ReadWrite))
        {
            file.Write(footerOffset, footer);
        }

        var error = Assert.Throws<StorageCorruptionException>(() => _files.Open(path, new TableOptions()));
        Assert.Equal(footerOffset + 16, error.Offset);
        Assert.Contains("outside", error.Message);
    }

    [Theory]
    [InlineData(Region.DataBlock, 21)]
    [InlineData(Region.IndexBlock, 22)]
    [InlineData(Region.MetaIndexBlock, 23)]
    [InlineData(Region.PropertiesBlock, 24)]
    [InlineData(Region.FilterBlock, 25)]
    public void Malformed_block_contents_behind_a_valid_checksum_raise_corruption_and_nothing_else(Region region, int seed)
    {
        var model = TableRoundTripTests.Generate(new Random(seed), 1500, TableRoundTripTests.KeyShape.ManyVersions);
        var options = new TableOptions { BlockSize = 512, RestartInterval = 4 };
        var (path, properties) = _files.Build(model, options);
        byte[] pristine = _files.FileSystem.ReadAllBytes(path);
        var random = new Random(seed);
        int corruptions = 0;
        for (int trial = 0; trial < 150; trial++)
        {
            var (blockOffset, blockSize) = PickBlock(path, properties, region, random);
            byte[] bytes = (byte[])pristine.Clone();
            int damage = 1 + random.Next(4);
            for (int d = 0; d < damage; d++)
            {
                long at = blockOffset + random.Next(blockSize);
                bytes[at] = random.Next(3) switch
                {
                    0 => (byte)(bytes[at] ^ (1 << random.Next(8))),
                    1 => 0xff,
                    _ => (byte)random.Next(256),
                };
            }

            // Re-seal the block so the damage gets past the CRC and reaches the decoders.
            bytes[blockOffset + blockSize] = (byte)BlockCompression.None;
            uint crc = Crc32C.Compute(bytes.AsSpan((int)blockOffset, blockSize + 1));
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)(blockOffset + blockSize + 1)), Crc32C.Mask(crc));
            using (var file = _files.FileSystem.Open(path, OpenMode.ReadWrite))
            {
                file.Write(0, bytes);
            }

            try
            {
                OpenAndExercise(path, model, options);
            }
            catch (StorageCorruptionException e)
            {
                Assert.Equal(path, e.File);
                corruptions++;
            }
        }

        Assert.True(corruptions > 0, "no damaged block was ever detected");
    }

    [Fact]
    public void Unverified_data_blocks_with_flipped_bits_raise_corruption_or_read_but_never_crash_otherwise()
    {
        var model = TableRoundTripTests.Generate(new Random(31), 1500, TableRoundTripTests.KeyShape.Short);
        var options = new TableOptions { VerifyChecksums = false, BlockSize = 512 };
        var (path, properties) = _files.Build(model, options);
        var random = new Random(31);
        for (int trial = 0; trial < 100; trial++)
        {
            long offset = random.NextInt64(properties.DataBytes);
            int bit = random.Next(8);
            _files.FileSystem.FlipBit(path, offset, bit);
            try
            {
                OpenAndExercise(path, model, options);
            }
            catch (StorageCorruptionException e)
            {
                Assert.Equal(path, e.File);
            }

            _files.FileSystem.FlipBit(path, offset, bit);
        }
    }

    [Fact]
    public void A_finished_table_survives_a_crash_and_an_unfinished_one_never_opens()
    {
        var model = TableRoundTripTests.Generate(new Random(41), 4000, TableRoundTripTests.KeyShape.Short);
        var (path, _) = _files.Build(model, new TableOptions());
        string unfinished = _files.PathOf("unfinished.sst");
        var file = _files.FileSystem.Open(unfinished, OpenMode.CreateTruncate);
        _files.FileSystem.SyncDirectory(_files.PathOf("").TrimEnd('/'));
        var builder = new TableBuilder(file, new TableOptions());
        foreach (var (key, value) in model)
        {
            builder.Add(key, value);
        }

        _files.FileSystem.Crash(CrashMode.TornTail, new Random(41));
        OpenAndReadEverything(path, model, new TableOptions());
        Assert.Throws<StorageCorruptionException>(() => _files.Open(unfinished, new TableOptions()));
    }

    [Fact]
    public void Out_of_space_fails_the_build_and_the_builder_refuses_further_use()
    {
        var model = TableRoundTripTests.Generate(new Random(51), 4000, TableRoundTripTests.KeyShape.Short);
        _files.FileSystem.CapacityBytes = 100_000;
        using var file = _files.FileSystem.Open(_files.PathOf("full.sst"), OpenMode.CreateTruncate);
        using var builder = new TableBuilder(file, new TableOptions());
        Assert.Throws<OutOfSpaceException>(() =>
        {
            foreach (var (key, value) in model)
            {
                builder.Add(key, value);
            }

            builder.Finish();
        });
        Assert.Throws<InvalidOperationException>(() => builder.Finish());
    }

    private void OpenAndReadEverything(string path, SortedDictionary<byte[], byte[]> model, TableOptions options)
    {
        using var reader = _files.Open(path, options);
        using var iterator = reader.NewIterator();
        using var expected = model.GetEnumerator();
        for (iterator.SeekToFirst(); iterator.Valid; iterator.Next())
        {
            Assert.True(expected.MoveNext());
            Assert.Equal(expected.Current.Key, iterator.Key.ToArray());
            Assert.Equal(expected.Current.Value, iterator.Value.ToArray());
        }

        Assert.False(expected.MoveNext());
    }

    /// <summary>Every read path once; results are not checked (the damage may be undetectable), only that nothing but corruption is thrown.</summary>
    private void OpenAndExercise(string path, SortedDictionary<byte[], byte[]> model, TableOptions options)
    {
        using var reader = _files.Open(path, options);
        using var iterator = reader.NewIterator();
        int steps = 0;
        for (iterator.SeekToFirst(); iterator.Valid && steps < 10_000; iterator.Next(), steps++)
        {
            _ = iterator.Key.Length + iterator.Value.Length;
        }

        steps = 0;
        for (iterator.SeekToLast(); iterator.Valid && steps < 10_000; iterator.Prev(), steps++)
        {
            _ = iterator.Key.Length + iterator.Value.Length;
        }

        int n = 0;
        foreach (byte[] key in model.Keys)
        {
            if (n++ % 50 != 0)
            {
                continue;
            }

            iterator.Seek(key);
            reader.TryGet(InternalKey.UserKey(key), InternalKey.Sequence(key), out _, out _);
        }
    }

    /// <summary>The byte range [start, end) of a region, from the footer and the properties.</summary>
    private (long Start, long End) Locate(string path, TableProperties properties, Region region)
    {
        var footer = ReadFooter(path, properties);
        long filterStart = properties.DataBytes;
        long indexStart = footer.Index.Offset;
        long propertiesStart = indexStart + footer.Index.Size + TableFormat.BlockTrailerLength;
        long footerStart = properties.FileSize - TableFormat.FooterLength;
        return region switch
        {
            Region.DataBlock => (0, properties.DataBytes),
            Region.FilterBlock => (filterStart, filterStart + properties.FilterBytes),
            Region.IndexBlock => (indexStart, propertiesStart),
            Region.PropertiesBlock => (propertiesStart, footer.MetaIndex.Offset),
            Region.MetaIndexBlock => (footer.MetaIndex.Offset, footerStart),
            _ => (footerStart, properties.FileSize),
        };
    }

    /// <summary>A block's (offset, contents size) within a region; data blocks picked at random through the index.</summary>
    private (long Offset, int Size) PickBlock(string path, TableProperties properties, Region region, Random random)
    {
        if (region != Region.DataBlock)
        {
            var (start, end) = Locate(path, properties, region);
            return (start, (int)(end - start - TableFormat.BlockTrailerLength));
        }

        var footer = ReadFooter(path, properties);
        byte[] index = _files.FileSystem.ReadAllBytes(path).AsSpan((int)footer.Index.Offset, footer.Index.Size + TableFormat.BlockTrailerLength).ToArray();
        var cursor = new BlockIterator();
        cursor.Reset(Block.Parse(index, footer.Index.Size, internalKeys: true, path, footer.Index.Offset));
        var handles = new List<BlockHandle>();
        for (cursor.SeekToFirst(); cursor.Valid; cursor.Next())
        {
            Assert.True(BlockHandle.TryDecode(cursor.Value, properties.FileSize, out var handle));
            handles.Add(handle);
        }

        var picked = handles[random.Next(handles.Count)];
        return (picked.Offset, picked.Size);
    }

    private Footer ReadFooter(string path, TableProperties properties)
    {
        byte[] bytes = _files.FileSystem.ReadAllBytes(path);
        long footerStart = properties.FileSize - TableFormat.FooterLength;
        return Footer.Decode(bytes.AsSpan((int)footerStart), path, footerStart);
    }
}
