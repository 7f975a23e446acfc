using System.Text;
using KvStore.Storage.Lsm;
using KvStore.Storage.Lsm.Table;

namespace KvStore.Storage.Tests.Lsm.Table;

/// <summary>Tables built from random sorted data read back exactly, through iterators and point reads.</summary>
public sealed class TableRoundTripTests : IDisposable
{
    private readonly TableFiles _files = new();

    public enum KeyShape
    {
        Short,
        Long,
        SharedLongPrefix,
        EmptyValues,
        LargeValues,
        ManyVersions,
    }

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData(0, KeyShape.Short, 1)]
    [InlineData(1, KeyShape.Short, 2)]
    [InlineData(1, KeyShape.LargeValues, 3)]
    [InlineData(17, KeyShape.Short, 4)]
    [InlineData(2000, KeyShape.Short, 5)]
    [InlineData(500, KeyShape.Long, 6)]
    [InlineData(2000, KeyShape.SharedLongPrefix, 7)]
    [InlineData(2000, KeyShape.EmptyValues, 8)]
    [InlineData(300, KeyShape.LargeValues, 9)]
    [InlineData(3000, KeyShape.ManyVersions, 10)]
    public void Iterators_and_point_reads_return_exactly_what_was_written(int count, KeyShape shape, int seed)
    {
        var random = new Random(seed);
        var model = Generate(random, count, shape);
        foreach (var options in new[]
        {
            new TableOptions(),
            new TableOptions { BlockSize = 256, RestartInterval = 3 },
            new TableOptions { BlockSize = 64 * 1024, RestartInterval = 1, BloomBitsPerKey = 0 },
        })
        {
            using var reader = _files.BuildAndOpen(model, options);
            Assert.Equal(count, reader.Properties.EntryCount);
            AssertScansMatch(model, reader);
            AssertSeeksMatch(model, reader, random);
            AssertRandomWalkMatches(model, reader, random);
            AssertPointReadsMatch(model, reader, random);
        }
    }

    [Fact]
    public void Point_read_respects_the_snapshot_sequence_and_finds_tombstones()
    {
        var model = TableFiles.NewModel();
        byte[] user = "account/17"u8.ToArray();
        model[InternalKey.Encode(user, 10, ValueKind.Value)] = "v10"u8.ToArray();
        model[InternalKey.Encode(user, 20, ValueKind.Deletion)] = [];
        model[InternalKey.Encode(user, 30, ValueKind.Value)] = "v30"u8.ToArray();
        model[InternalKey.Encode("account/18"u8, 5, ValueKind.Value)] = "other"u8.ToArray();
        using var reader = _files.BuildAndOpen(model, new TableOptions { BlockSize = 64, RestartInterval = 1 });

        Assert.False(reader.TryGet(user, 9, out _, out _));
        AssertFound(reader, user, 10, ValueKind.Value, "v10");
        AssertFound(reader, user, 19, ValueKind.Value, "v10");
        AssertFound(reader, user, 20, ValueKind.Deletion, "");
        AssertFound(reader, user, 29, ValueKind.Deletion, "");
        AssertFound(reader, user, 30, ValueKind.Value, "v30");
        AssertFound(reader, user, ulong.MaxValue, ValueKind.Value, "v30");
        Assert.False(reader.TryGet("account/1"u8, ulong.MaxValue, out _, out _));
        Assert.False(reader.TryGet("account/17x"u8, ulong.MaxValue, out _, out _));
    }

    [Fact]
    public void Properties_read_back_as_the_builder_reported_them()
    {
        var model = Generate(new Random(42), 5000, KeyShape.Short);
        var (path, built) = _files.Build(model, new TableOptions());
        using var reader = _files.Open(path, new TableOptions());

        Assert.Equal(_files.LengthOf(path), built.FileSize);
        Assert.Equal(built.FileSize, reader.Properties.FileSize);
        Assert.Equal(5000, reader.Properties.EntryCount);
        Assert.Equal(model.Keys.First(), reader.Properties.SmallestKey);
        Assert.Equal(model.Keys.Last(), reader.Properties.LargestKey);
        Assert.Equal(built.SmallestKey, reader.Properties.SmallestKey);
        Assert.Equal(built.DataBytes, reader.Properties.DataBytes);
        Assert.Equal(built.IndexBytes, reader.Properties.IndexBytes);
        Assert.Equal(built.FilterBytes, reader.Properties.FilterBytes);
        Assert.True(built.DataBytes > 0 && built.IndexBytes > 0 && built.FilterBytes > 0);
        Assert.True(built.DataBytes + built.IndexBytes + built.FilterBytes < built.FileSize);
    }

    [Fact]
    public void Builder_rejects_keys_out_of_order_duplicates_and_malformed_keys()
    {
        using var file = _files.FileSystem.Open(_files.PathOf("bad.sst"), KvStore.Storage.IO.OpenMode.CreateTruncate);
        using var builder = new TableBuilder(file, new TableOptions());
        builder.Add(InternalKey.Encode("b"u8, 5, ValueKind.Value), "x"u8);
        Assert.Throws<ArgumentException>(() => builder.Add(InternalKey.Encode("a"u8, 9, ValueKind.Value), "x"u8));
        Assert.Throws<ArgumentException>(() => builder.Add(InternalKey.Encode("b"u8, 5, ValueKind.Value), "x"u8));
        Assert.Throws<ArgumentException>(() => builder.Add(InternalKey.Encode("b"u8, 6, ValueKind.Value), "x"u8));
        Assert.Throws<ArgumentException>(() => builder.Add("short"u8, "x"u8));
        builder.Add(InternalKey.Encode("b"u8, 4, ValueKind.Value), "x"u8);
        Assert.Equal(2, builder.EntryCount);
        Assert.True(builder.EstimatedSize > 0);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(64 * 1024)]
    public void Concurrent_point_reads_and_scans_agree_with_the_model(int cacheBytes)
    {
        // Small blocks and a small (or no) cache: buffers are recycled between threads all the time,
        // so a reference-counting mistake would show up as wrong data here.
        var model = Generate(new Random(7), 4000, KeyShape.ManyVersions);
        var cache = cacheBytes > 0 ? new KvStore.Storage.Lsm.Cache.BlockCache(cacheBytes) : null;
        using var reader = _files.BuildAndOpen(model, new TableOptions { BlockSize = 512 }, cache);
        var entries = model.ToArray();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 4, worker =>
        {
            var random = new Random(100 + worker);
            for (int i = 0; i < 3000; i++)
            {
                var (key, value) = entries[random.Next(entries.Length)];
                if (!reader.TryGet(InternalKey.UserKey(key), InternalKey.Sequence(key), out var kind, out var found)
                    || kind != InternalKey.Kind(key) || !found.AsSpan().SequenceEqual(value))
                {
                    failures.Add($"point read of entry {Convert.ToHexString(key)}");
                }
            }

            for (int scan = 0; scan < 20; scan++)
            {
                ScanAndCompare(random.Next(entries.Length));
            }
        });

        void ScanAndCompare(int index)
        {
            using var iterator = reader.NewIterator();
            iterator.Seek(entries[index].Key);
            for (int n = 0; n < 200 && index < entries.Length; n++, index++, iterator.Next())
            {
                if (!iterator.Valid || !iterator.Key.SequenceEqual(entries[index].Key) || !iterator.Value.SequenceEqual(entries[index].Value))
                {
                    failures.Add($"scan at entry {index}");
                    return;
                }
            }
        }

        Assert.Empty(failures);
        Assert.True(cache is null || cache.Hits > 0);
    }

    internal static SortedDictionary<byte[], byte[]> Generate(Random random, int count, KeyShape shape)
    {
        var model = TableFiles.NewModel();
        string sharedPrefix = new('p', 120);
        while (model.Count < count)
        {
            string user = shape switch
            {
                KeyShape.Long => RandomText(random, 200 + random.Next(300)),
                KeyShape.SharedLongPrefix => sharedPrefix + RandomText(random, 1 + random.Next(6)),
                KeyShape.ManyVersions => "key" + random.Next(Math.Max(1, count / 6)).ToString("D5"),
                _ => RandomText(random, 1 + random.Next(24)),
            };
            int valueLength = shape switch
            {
                KeyShape.EmptyValues => 0,
                KeyShape.LargeValues => 1000 + random.Next(9000),
                _ => random.Next(120),
            };
            var kind = random.Next(10) == 0 ? ValueKind.Deletion : ValueKind.Value;
            byte[] value = new byte[kind == ValueKind.Deletion ? 0 : valueLength];
            random.NextBytes(value);
            model[InternalKey.Encode(Encoding.UTF8.GetBytes(user), (ulong)random.NextInt64(1, 1L << 40), kind)] = value;
        }

        return model;
    }

    private static string RandomText(Random random, int length)
    {
        var chars = new char[length];
        for (int i = 0; i < length; i++)
        {
            chars[i] = (char)('a' + random.Next(random.Next(2) == 0 ? 3 : 26));
        }

        return new string(chars);
    }

    private static void AssertFound(TableReader reader, byte[] user, ulong sequence, ValueKind expectedKind, string expectedValue)
    {
        Assert.True(reader.TryGet(user, sequence, out var kind, out var value), $"no entry at sequence {sequence}");
        Assert.Equal(expectedKind, kind);
        Assert.Equal(expectedValue, Encoding.UTF8.GetString(value));
    }

    private static void AssertScansMatch(SortedDictionary<byte[], byte[]> model, TableReader reader)
    {
        var expected = model.ToList();
        using var iterator = reader.NewIterator();
        int i = 0;
        for (iterator.SeekToFirst(); iterator.Valid; iterator.Next(), i++)
        {
            Assert.True(i < expected.Count, "forward scan returned more entries than written");
            Assert.Equal(expected[i].Key, iterator.Key.ToArray());
            Assert.Equal(expected[i].Value, iterator.Value.ToArray());
        }

        Assert.Equal(expected.Count, i);
        i = expected.Count - 1;
        for (iterator.SeekToLast(); iterator.Valid; iterator.Prev(), i--)
        {
            Assert.True(i >= 0, "reverse scan returned more entries than written");
            Assert.Equal(expected[i].Key, iterator.Key.ToArray());
            Assert.Equal(expected[i].Value, iterator.Value.ToArray());
        }

        Assert.Equal(-1, i);
    }

    private static void AssertSeeksMatch(SortedDictionary<byte[], byte[]> model, TableReader reader, Random random)
    {
        var keys = model.Keys.ToList();
        using var iterator = reader.NewIterator();
        var targets = new List<byte[]> { InternalKey.Encode([], InternalKey.MaxSequence, ValueKind.Value), InternalKey.Encode([0xff, 0xff, 0xff], 0, ValueKind.Deletion) };
        for (int i = 0; i < 200 && keys.Count > 0; i++)
        {
            byte[] existing = keys[random.Next(keys.Count)];
            targets.Add(existing);
            byte[] user = InternalKey.UserKey(existing).ToArray();
            targets.Add(InternalKey.Encode(user, InternalKey.Sequence(existing) + 1, ValueKind.Value)); // just before
            targets.Add(InternalKey.Encode(user, Math.Max(InternalKey.Sequence(existing), 1) - 1, ValueKind.Value)); // just after
            targets.Add(InternalKey.Encode([.. user, (byte)random.Next(256)], 7, ValueKind.Value)); // absent user key
            targets.Add(InternalKey.Encode(user.AsSpan(0, random.Next(user.Length + 1)), 7, ValueKind.Value)); // a prefix
        }

        foreach (byte[] target in targets)
        {
            int index = LowerBound(keys, target);
            iterator.Seek(target);
            if (index == keys.Count)
            {
                Assert.False(iterator.Valid, "seek past the last key must leave the iterator invalid");
            }
            else
            {
                Assert.True(iterator.Valid, "seek to a key at or before the last must find an entry");
                Assert.Equal(keys[index], iterator.Key.ToArray());
                Assert.Equal(model[keys[index]], iterator.Value.ToArray());
            }
        }
    }

    private static void AssertRandomWalkMatches(SortedDictionary<byte[], byte[]> model, TableReader reader, Random random)
    {
        var keys = model.Keys.ToList();
        if (keys.Count == 0)
        {
            return;
        }

        using var iterator = reader.NewIterator();
        int position = random.Next(keys.Count);
        iterator.Seek(keys[position]);
        for (int step = 0; step < 1000; step++)
        {
            if (position < 0 || position >= keys.Count)
            {
                Assert.False(iterator.Valid);
                position = random.Next(keys.Count);
                iterator.Seek(keys[position]);
            }

            Assert.True(iterator.Valid);
            Assert.Equal(keys[position], iterator.Key.ToArray());
            if (random.Next(2) == 0)
            {
                iterator.Next();
                position++;
            }
            else
            {
                iterator.Prev();
                position--;
            }
        }
    }

    private static void AssertPointReadsMatch(SortedDictionary<byte[], byte[]> model, TableReader reader, Random random)
    {
        var keys = model.Keys.ToList();
        for (int i = 0; i < 300; i++)
        {
            byte[] user;
            if (keys.Count > 0 && random.Next(3) > 0)
            {
                user = InternalKey.UserKey(keys[random.Next(keys.Count)]).ToArray();
            }
            else
            {
                user = Encoding.UTF8.GetBytes("absent" + random.Next());
            }

            ulong sequence = random.Next(4) == 0 ? ulong.MaxValue : (ulong)random.NextInt64(1, 1L << 40);
            byte[] seek = InternalKey.Encode(user, Math.Min(sequence, InternalKey.MaxSequence), ValueKind.Value);
            int index = LowerBound(keys, seek);
            bool expected = index < keys.Count && InternalKey.UserKey(keys[index]).SequenceEqual(user);
            Assert.Equal(expected, reader.TryGet(user, sequence, out var kind, out var value));
            if (expected)
            {
                Assert.Equal(InternalKey.Kind(keys[index]), kind);
                Assert.Equal(model[keys[index]], value);
            }
        }
    }

    private static int LowerBound(List<byte[]> keys, byte[] target)
    {
        int lo = 0;
        int hi = keys.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) / 2;
            if (InternalKeyComparer.Compare(keys[mid], target) < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
