using KvStore.Raft.Core;

namespace KvStore.Raft.Tests.Core;

public sealed class ProgressTests
{
    private static Progress NewProgress(long match, long next) => new(match, next, new Inflights(4, 0), isLearner: false);

    [Fact]
    public void MatchMustStayBelowNext()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => NewProgress(5, 5));
        Assert.Contains("Match < Next", ex.Message);
    }

    [Fact]
    public void StaleRejectionIsIgnoredInProbe()
    {
        var pr = NewProgress(0, 10);
        Assert.False(pr.MaybeDecrTo(rejected: 5, matchHint: 3));
        Assert.True(pr.MaybeDecrTo(rejected: 9, matchHint: 3));
        Assert.Equal(4, pr.Next);
    }

    [Fact]
    public void ReplicateRewindsToMatchOnRejection()
    {
        var pr = NewProgress(5, 6);
        pr.BecomeReplicate();
        pr.SentEntries(8, 10);
        Assert.Equal(9, pr.Next);
        Assert.False(pr.MaybeDecrTo(rejected: 4, matchHint: 0)); // at or below Match: stale
        Assert.True(pr.MaybeDecrTo(rejected: 7, matchHint: 0));
        Assert.Equal(6, pr.Next);
    }

    [Fact]
    public void ReplicateIsPausedWhenInflightWindowFull()
    {
        var pr = NewProgress(0, 1);
        pr.BecomeReplicate();
        for (int i = 1; i <= 4; i++)
        {
            Assert.False(pr.IsPaused);
            pr.SentEntries(i, 1);
        }
        Assert.True(pr.IsPaused);
        pr.MaybeUpdate(2);
        pr.Inflights.FreeLE(2);
        Assert.False(pr.IsPaused);
    }

    [Fact]
    public void SnapshotStateResumesAfterTheSnapshot()
    {
        var pr = NewProgress(3, 4);
        pr.BecomeSnapshot(20);
        Assert.True(pr.IsPaused);
        pr.BecomeProbe();
        Assert.Equal(21, pr.Next);
        Assert.Equal(3, pr.Match);
    }
}
