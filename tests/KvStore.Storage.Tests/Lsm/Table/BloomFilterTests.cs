using System.Buffers.Binary;
using System.Text;
using KvStore.Storage.Lsm;
using KvStore.Storage.Lsm.Cache;
using KvStore.Storage.Lsm.Table;
using Xunit.Abstractions;

namespace KvStore.Storage.Tests.Lsm.Table;

/// <summary>The table filter: its accuracy, its use by point reads, and prefix filtering.</summary>
public sealed class BloomFilterTests(ITestOutputHelper output) : IDisposable
{
    private readonly TableFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void False_positive_rate_at_10_bits_per_key_is_at_most_one_percent_and_there_are_no_false_negatives()
    {
        const int present = 100_000;
        const int absent = 100_000;
        var model = TableFiles.NewModel();
        var random = new Random(1234);
        var presentKeys = new HashSet<string>();
        while (presentKeys.Count < present)
        {
            presentKeys.Add("user" + random.NextInt64(1L << 40).ToString("D13"));
        }

        foreach (string key in presentKeys)
        {
            model[InternalKey.Encode(Encoding.ASCII.GetBytes(key), 1, ValueKind.Value)] = [];
        }

        using var reader = _files.BuildAndOpen(model, new TableOptions { BloomBitsPerKey = 10 });
        foreach (string key in presentKeys)
        {
            Assert.True(reader.MayContainUserKey(Encoding.ASCII.GetBytes(key)), $"false negative for {key}");
        }

        int falsePositives = 0;
        int tested = 0;
        while (tested < absent)
        {
            string key = "user" + random.NextInt64(1L << 40).ToString("D13");
            if (presentKeys.Contains(key))
            {
                continue;
            }

            tested++;
            if (reader.MayContainUserKey(Encoding.ASCII.GetBytes(key)))
            {
                falsePositives++;
            }
        }

        double rate = (double)falsePositives / absent;
        output.WriteLine($"Bloom false-positive rate at 10 bits/key: {rate:P3} ({falsePositives} of {absent}); filter {reader.Properties.FilterBytes} bytes for {present} keys");
        Assert.True(rate <= 0.01, $"false-positive rate {rate:P3} exceeds 1%");
        Assert.True(rate > 0, "a 10-bit filter with no false positives at all means the filter is not what it claims");
        Assert.Equal(present + absent, reader.FilterChecks);
        Assert.Equal(absent - falsePositives, reader.FilterUseful);
    }

    [Fact]
    public void Point_reads_of_filtered_keys_read_no_data_block()
    {
        var model = TableRoundTripTests.Generate(new Random(5), 2000, TableRoundTripTests.KeyShape.Short);
        var cache = new BlockCache(1 << 20);
        using var reader = _files.BuildAndOpen(model, new TableOptions(), cache);
        int filtered = 0;
        for (int i = 0; i < 1000; i++)
        {
            byte[] absentKey = Encoding.ASCII.GetBytes("ABSENT" + i);
            long lookupsBefore = cache.Hits + cache.Misses;
            bool passedFilter = reader.MayContainUserKey(absentKey);
            Assert.False(reader.TryGet(absentKey, ulong.MaxValue, out _, out _, out bool filteredOut));
            Assert.Equal(!passedFilter, filteredOut);
            if (!passedFilter)
            {
                filtered++;
                Assert.Equal(lookupsBefore, cache.Hits + cache.Misses);
            }
        }

        Assert.True(filtered > 950, $"only {filtered} of 1000 absent keys were filtered");
        Assert.Equal(2000, reader.FilterChecks);
        Assert.Equal(2 * filtered, reader.FilterUseful);
    }

    [Fact]
    public void Prefix_filter_skips_tables_without_the_prefix_and_never_misses_one_they_hold()
    {
        var extractor = new WithoutRevisionSuffix();
        var options = new TableOptions { PrefixExtractor = extractor };
        var model = TableFiles.NewModel();
        var random = new Random(9);
        var prefixes = new List<byte[]>();
        for (int k = 0; k < 3000; k++)
        {
            byte[] prefix = Encoding.ASCII.GetBytes("K" + k.ToString("D6"));
            prefixes.Add(prefix);
            for (int revision = 0; revision < 3; revision++)
            {
                byte[] user = new byte[prefix.Length + 8];
                prefix.CopyTo(user, 0);
                BinaryPrimitives.WriteUInt64BigEndian(user.AsSpan(prefix.Length), (ulong)random.NextInt64(1L << 50));
                model[InternalKey.Encode(user, 1, ValueKind.Value)] = [1];
            }
        }

        using var reader = _files.BuildAndOpen(model, options);
        foreach (byte[] prefix in prefixes)
        {
            Assert.True(reader.MayContainPrefix(prefix));
        }

        foreach (byte[] key in model.Keys)
        {
            byte[] user = InternalKey.UserKey(key).ToArray();
            Assert.True(reader.MayContainUserKey(user));
            Assert.True(reader.TryGet(user, 1, out _, out _));

            // Another revision of a held prefix passes the filter: the filter is on the prefix.
            byte[] otherRevision = (byte[])user.Clone();
            otherRevision[^1] ^= 0x55;
            Assert.True(reader.MayContainUserKey(otherRevision));
        }

        int passed = 0;
        for (int k = 0; k < 10_000; k++)
        {
            byte[] absentPrefix = Encoding.ASCII.GetBytes("K" + (100_000 + k).ToString("D6"));
            passed += reader.MayContainPrefix(absentPrefix) ? 1 : 0;
            byte[] user = [.. absentPrefix, 0, 0, 0, 0, 0, 0, 0, 9];
            Assert.Equal(reader.MayContainPrefix(absentPrefix), reader.MayContainUserKey(user));
        }

        Assert.True(passed <= 100, $"{passed} of 10,000 absent prefixes passed the filter");

        // A key outside the extractor's domain cannot be filtered by prefix.
        Assert.True(reader.MayContainUserKey("short"u8));
    }

    [Fact]
    public void A_table_built_with_another_extractor_is_not_filtered()
    {
        var model = TableFiles.NewModel();
        for (int k = 0; k < 500; k++)
        {
            model[InternalKey.Encode(Encoding.ASCII.GetBytes("K" + k.ToString("D6") + "revision"), 1, ValueKind.Value)] = [];
        }

        var (path, _) = _files.Build(model, new TableOptions { PrefixExtractor = new WithoutRevisionSuffix() });
        using var otherExtractor = _files.Open(path, new TableOptions { PrefixExtractor = new WithoutRevisionSuffix("other-name") });
        using var noExtractor = _files.Open(path, new TableOptions());
        for (int k = 0; k < 1000; k++)
        {
            byte[] absent = Encoding.ASCII.GetBytes("Z" + k.ToString("D6") + "revision");
            Assert.True(otherExtractor.MayContainUserKey(absent));
            Assert.True(otherExtractor.MayContainPrefix(absent.AsSpan(0, 7)));
            Assert.True(noExtractor.MayContainUserKey(absent));
            Assert.False(otherExtractor.TryGet(absent, 1, out _, out _));
        }

        Assert.Equal(0, otherExtractor.FilterChecks);
        Assert.True(otherExtractor.TryGet("K000007revision"u8, 1, out _, out _));
    }

    [Fact]
    public void Zero_bits_per_key_builds_no_filter_and_everything_may_be_present()
    {
        var model = TableRoundTripTests.Generate(new Random(3), 300, TableRoundTripTests.KeyShape.Short);
        using var reader = _files.BuildAndOpen(model, new TableOptions { BloomBitsPerKey = 0 });
        Assert.Equal(0, reader.Properties.FilterBytes);
        Assert.True(reader.MayContainUserKey("absent"u8));
        Assert.False(reader.TryGet("absent"u8, 1, out _, out _));
        Assert.Equal(0, reader.FilterChecks);
    }

    [Theory]
    [InlineData("", 0xEF46DB3751D8E999UL)]
    [InlineData("abc", 0x44BC2CF5AD770999UL)]
    [InlineData("The quick brown fox jumps over the lazy dog", 0x0B242D361FDA71BCUL)]
    public void Filter_hash_is_xxhash64_because_its_bits_are_on_disk(string input, ulong expected)
    {
        Assert.Equal(expected, BloomFilter.Hash(Encoding.ASCII.GetBytes(input)));
    }

    [Theory]
    [InlineData(31, 0xC346D2B59B4D8EE1UL)]
    [InlineData(32, 0xCBF59C5116FF32B4UL)]
    [InlineData(33, 0x0C535D1ACAFB8EADUL)]
    [InlineData(64, 0xF7C67301DB6713F0UL)]
    [InlineData(100, 0x6AC1E58032166597UL)]
    public void Filter_hash_of_every_input_length_class_is_pinned(int length, ulong expected)
    {
        // Bytes 0, 1, 2, ...: covers the short path and the 32-byte stripes; values from an independent implementation.
        byte[] input = new byte[length];
        for (int i = 0; i < length; i++)
        {
            input[i] = (byte)i;
        }

        Assert.Equal(expected, BloomFilter.Hash(input));
    }

    /// <summary>MVCC-style keys: a user key followed by an 8-byte revision; the prefix drops the revision.</summary>
    private sealed class WithoutRevisionSuffix(string name = "without-revision-suffix") : IKeyPrefixExtractor
    {
        public string Name => name;

        public bool InDomain(ReadOnlySpan<byte> userKey) => userKey.Length > 8;

        public ReadOnlySpan<byte> Prefix(ReadOnlySpan<byte> userKey) => userKey[..^8];
    }
}
