using KvStore.Storage.Lsm;
using KvStore.Storage.Lsm.Cache;
using KvStore.Storage.Lsm.Table;

namespace KvStore.Storage.Tests.Lsm.Table;

/// <summary>The shared block cache: bounded by bytes, least recently used out first, safe under concurrent readers.</summary>
public sealed class BlockCacheTests : IDisposable
{
    private readonly TableFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void Usage_never_exceeds_capacity_and_old_blocks_are_evicted()
    {
        var cache = new BlockCache(16 * 10_000);
        for (int i = 0; i < 1000; i++)
        {
            cache.Insert(1, i * 5000L, NewBlock(4000));
            Assert.True(cache.UsageBytes <= cache.CapacityBytes, $"usage {cache.UsageBytes} above capacity after {i + 1} inserts");
        }

        Assert.InRange(cache.Count, 16, 40);
        Assert.False(cache.TryGet(1, 0, out _), "the first block should have been evicted long ago");
        Assert.True(cache.TryGet(1, 999 * 5000L, out _), "the last block inserted should be cached");
    }

    [Fact]
    public void Recently_used_blocks_outlive_unused_ones()
    {
        // One shard's worth of blocks in a cache of 16 shards: use a single key stream and keep touching one.
        var cache = new BlockCache(16 * 20_000);
        cache.Insert(7, 0, NewBlock(3000));
        for (int i = 1; i < 2000; i++)
        {
            cache.Insert(7, i * 4096L, NewBlock(3000));
            Assert.True(cache.TryGet(7, 0, out _), $"the block used after every insert was evicted at insert {i}");
        }

        Assert.True(cache.Hits >= 1999);
    }

    [Fact]
    public void Hits_and_misses_are_counted_and_a_block_larger_than_a_shard_is_not_kept()
    {
        var cache = new BlockCache(16 * 8192);
        Assert.False(cache.TryGet(1, 0, out _));
        cache.Insert(1, 0, NewBlock(1000));
        Assert.True(cache.TryGet(1, 0, out var block));
        Assert.Equal(1000, block.RestartsOffset);
        Assert.Equal(1, cache.Hits);
        Assert.Equal(1, cache.Misses);

        cache.Insert(2, 0, NewBlock(100_000));
        Assert.False(cache.TryGet(2, 0, out _));
        Assert.True(cache.UsageBytes <= cache.CapacityBytes);

        cache.Insert(1, 0, NewBlock(2000)); // replacing keeps one entry, charged once
        Assert.Equal(1, cache.Count);
        Assert.Equal(2000 + TableFormat.BlockTrailerLength + 4 + Block.CacheOverhead + 4, cache.UsageBytes);
    }

    [Fact]
    public void Evicting_a_file_drops_only_its_blocks()
    {
        var cache = new BlockCache(1 << 20);
        for (int i = 0; i < 50; i++)
        {
            cache.Insert(1, i * 100L, NewBlock(100));
            cache.Insert(2, i * 100L, NewBlock(100));
        }

        cache.EvictFile(1);
        Assert.Equal(50, cache.Count);
        Assert.False(cache.TryGet(1, 0, out _));
        Assert.True(cache.TryGet(2, 0, out _));
    }

    [Fact]
    public void Tables_read_through_a_small_cache_stay_within_it_and_second_reads_hit()
    {
        var model = TableRoundTripTests.Generate(new Random(61), 20_000, TableRoundTripTests.KeyShape.Short);
        var cache = new BlockCache(64 * 1024);
        using var reader = _files.BuildAndOpen(model, new TableOptions(), cache);
        using (var iterator = reader.NewIterator())
        {
            for (iterator.SeekToFirst(); iterator.Valid; iterator.Next())
            {
            }
        }

        long blocks = cache.Misses;
        Assert.True(blocks > 100, $"a table of {reader.Properties.DataBytes} data bytes read only {blocks} blocks");
        Assert.True(cache.UsageBytes <= cache.CapacityBytes);

        byte[] key = model.Keys.Last();
        Assert.True(reader.TryGet(InternalKey.UserKey(key), InternalKey.Sequence(key), out _, out _));
        Assert.True(reader.TryGet(InternalKey.UserKey(key), InternalKey.Sequence(key), out _, out _));
        Assert.True(cache.Hits >= 2, "the last block read should still be cached");
    }

    [Fact]
    public void A_scan_that_does_not_fill_the_cache_leaves_it_as_it_was_but_uses_what_is_there()
    {
        var model = TableRoundTripTests.Generate(new Random(63), 5000, TableRoundTripTests.KeyShape.Short);
        var cache = new BlockCache(1 << 20);
        using var reader = _files.BuildAndOpen(model, new TableOptions(), cache);
        byte[] first = model.Keys.First();
        Assert.True(reader.TryGet(InternalKey.UserKey(first), InternalKey.Sequence(first), out _, out _));
        Assert.Equal(1, cache.Count);

        int entries = 0;
        using (var iterator = reader.NewIterator(fillCache: false))
        {
            for (iterator.SeekToFirst(); iterator.Valid; iterator.Next())
            {
                entries++;
            }
        }

        Assert.Equal(model.Count, entries);
        Assert.Equal(1, cache.Count);
        Assert.Equal(1, cache.Hits); // the first block came from the cache
        Assert.All(cache.SnapshotBlocks(), b => Assert.Equal(1, b.References));
    }

    [Fact]
    public void Concurrent_readers_and_inserts_keep_the_cache_consistent()
    {
        var cache = new BlockCache(16 * 50_000);
        Parallel.For(0, 4, worker =>
        {
            var random = new Random(worker);
            for (int i = 0; i < 20_000; i++)
            {
                ulong file = (ulong)random.Next(4);
                long offset = random.Next(500) * 4096L;
                if (cache.TryGet(file, offset, out var block))
                {
                    Assert.Equal((int)(offset / 4096) % 700 + 8, block.RestartsOffset);
                }
                else
                {
                    cache.Insert(file, offset, NewBlock((int)(offset / 4096) % 700 + 8));
                }
            }
        });

        Assert.Equal(80_000, cache.Hits + cache.Misses);
        Assert.True(cache.UsageBytes <= cache.CapacityBytes);
        Assert.True(cache.Hits > 0);
    }

    [Fact]
    public void A_cached_block_keeps_its_buffer_until_the_cache_and_every_reader_let_go()
    {
        var cache = new BlockCache(16 * 10_000);
        byte[] data = new byte[1024];
        BitConverter.TryWriteBytes(data.AsSpan(1000), 1);
        var block = Block.Parse(data, 1004, internalKeys: true, "test.sst", 0, pooled: true);
        cache.Insert(3, 0, block);
        Assert.Equal(2, block.References); // the reader that read it, and the cache
        Assert.True(cache.TryGet(3, 0, out var again));
        Assert.Same(block, again);
        Assert.Equal(3, block.References);
        block.Release();
        again.Release();
        Assert.Equal(1, block.References);

        Assert.True(cache.TryGet(3, 0, out var held));
        cache.EvictFile(3);
        Assert.Equal(1, held.References); // evicted, but a reader still uses it: the buffer stays
        Assert.Same(data, held.Data);
        held.Release();
        Assert.Equal(0, held.References);
        Assert.Throws<ObjectDisposedException>(() => held.Data);
        Assert.Throws<InvalidOperationException>(() => held.Release());
    }

    [Fact]
    public void Readers_release_every_block_they_take()
    {
        var model = TableRoundTripTests.Generate(new Random(62), 5000, TableRoundTripTests.KeyShape.ManyVersions);
        var cache = new BlockCache(1 << 20);
        using var reader = _files.BuildAndOpen(model, new TableOptions { BlockSize = 1024 }, cache);
        var keys = model.Keys.ToList();
        var random = new Random(62);
        for (int i = 0; i < 500; i++)
        {
            byte[] key = keys[random.Next(keys.Count)];
            Assert.True(reader.TryGet(InternalKey.UserKey(key), InternalKey.Sequence(key), out _, out _));
            using var iterator = reader.NewIterator();
            iterator.Seek(key);
            for (int n = 0; n < 50 && iterator.Valid; n++)
            {
                if (random.Next(3) == 0)
                {
                    iterator.Prev();
                }
                else
                {
                    iterator.Next();
                }
            }
        }

        var blocks = cache.SnapshotBlocks();
        Assert.True(blocks.Count > 10);
        Assert.All(blocks, b => Assert.Equal(1, b.References)); // only the cache's own reference is left
    }

    /// <summary>A parsed block whose entries occupy <paramref name="entryBytes"/> (one restart point).</summary>
    private static Block NewBlock(int entryBytes)
    {
        byte[] data = new byte[entryBytes + 8 + TableFormat.BlockTrailerLength];
        BitConverter.TryWriteBytes(data.AsSpan(entryBytes + 4), 1);
        return Block.Parse(data, entryBytes + 8, internalKeys: true, "test.sst", 0);
    }
}
