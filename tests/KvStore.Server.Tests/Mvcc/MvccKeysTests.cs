using KvStore.Server.Mvcc;

namespace KvStore.Server.Tests.Mvcc;

/// <summary>The version-key encoding keeps user-key order, keeps versions of one key adjacent and newest first, and its prefix feeds the Bloom filter.</summary>
public sealed class MvccKeysTests
{
    [Fact]
    public void VersionKeysSortByUserKeyThenNewestRevisionFirst()
    {
        var random = new Random(1);
        var keys = Enumerable.Range(0, 300).Select(_ => RandomKey(random)).ToList();
        for (int i = 0; i < 2000; i++)
        {
            byte[] a = keys[random.Next(keys.Count)];
            byte[] b = keys[random.Next(keys.Count)];
            long ra = random.NextInt64(1, 1L << 40);
            long rb = random.NextInt64(1, 1L << 40);
            int userOrder = a.AsSpan().SequenceCompareTo(b);
            int encodedOrder = MvccKeys.VersionKey(a, ra).AsSpan().SequenceCompareTo(MvccKeys.VersionKey(b, rb));
            int expected = userOrder != 0 ? userOrder : rb.CompareTo(ra);
            Assert.Equal(Math.Sign(expected), Math.Sign(encodedOrder));
        }
    }

    [Fact]
    public void UserKeyAndRevisionComeBackAndThePrefixExtractorStripsTheRevision()
    {
        var random = new Random(2);
        for (int i = 0; i < 500; i++)
        {
            byte[] key = RandomKey(random);
            long revision = random.NextInt64(1, long.MaxValue);
            byte[] versionKey = MvccKeys.VersionKey(key, revision);
            byte[] prefix = MvccKeys.VersionPrefix(key);

            Assert.Equal(key, MvccKeys.UserKey(versionKey));
            Assert.Equal(revision, MvccKeys.Revision(versionKey));
            Assert.True(RevisionSuffixExtractor.Instance.InDomain(versionKey));
            Assert.Equal(prefix, RevisionSuffixExtractor.Instance.Prefix(versionKey).ToArray());
            Assert.Equal(prefix, RevisionSuffixExtractor.Instance.Prefix(prefix).ToArray());
        }

        Assert.False(RevisionSuffixExtractor.Instance.InDomain(MvccKeys.CurrentRevisionKey));
        Assert.False(RevisionSuffixExtractor.Instance.InDomain(MvccKeys.EventKey(3, 1)));
    }

    [Fact]
    public void EventKeysSortByRevisionThenSubIndex()
    {
        Assert.True(MvccKeys.EventKey(2, 900).AsSpan().SequenceCompareTo(MvccKeys.EventKey(3, 0)) < 0);
        Assert.True(MvccKeys.EventKey(3, 1).AsSpan().SequenceCompareTo(MvccKeys.EventKey(3, 2)) < 0);
        Assert.Equal(3, MvccKeys.EventRevision(MvccKeys.EventKey(3, 2)));
        Assert.Equal(2, MvccKeys.EventSub(MvccKeys.EventKey(3, 2)));
    }

    private static byte[] RandomKey(Random random)
    {
        // Bytes 0x00, 0x01 and 0xFF are over-represented: they are the escape's edge cases.
        byte[] alphabet = [0x00, 0x01, 0xFF, 0xFE, (byte)'a', (byte)'b'];
        return Enumerable.Range(0, random.Next(1, 6)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray();
    }
}
