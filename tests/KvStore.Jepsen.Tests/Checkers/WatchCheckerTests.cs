using KvStore.Jepsen.Run;
using KvStore.Jepsen.Workloads;
using KvStore.Jepsen.Workloads.Watches;

namespace KvStore.Jepsen.Tests.Checkers;

public sealed class WatchCheckerTests
{
    private static readonly KeyChange A1 = new("w/a", "1");
    private static readonly KeyChange B2 = new("w/b", "2");
    private static readonly KeyChange A3 = new("w/a", "3");
    private static readonly KeyChange DelB = new("w/b", null);

    // Revisions 10, 11, 12 (a transaction: two events), 13.
    private static readonly WatchedWrite[] Writes =
    [
        new(A1, OperationOutcome.Ok, 10),
        new(B2, OperationOutcome.Ok, 11),
        new(A3, OperationOutcome.Ok, 12),
        new(DelB, OperationOutcome.Ok, 12),
        new(new KeyChange("w/c", "4"), OperationOutcome.Ok, 13),
    ];

    private static WatchDelivery At(long revision, params KeyChange[] events) => new(revision, events, IsProgress: false);

    private static WatchDelivery Bookmark(long revision) => new(revision, [], IsProgress: true);

    private static WatchDelivery C4 => At(13, new KeyChange("w/c", "4"));

    private static CheckerResult Check(params WatchSegment[] segments) => WatchChecker.Check(Writes, [new WatcherHistory(1, segments)]);

    [Fact]
    public void A_complete_stream_with_a_restart_and_a_bookmark_is_valid()
    {
        CheckerResult result = Check(
            new WatchSegment(10, [At(10, A1), At(11, B2)]),
            new WatchSegment(12, [At(12, DelB, A3), Bookmark(12), C4]));

        Assert.Equal(CheckerVerdict.Valid, result.Verdict);
    }

    [Fact]
    public void A_revision_delivered_twice_across_a_restart_is_invalid()
    {
        CheckerResult result = Check(new WatchSegment(10, [At(10, A1), At(11, B2)]), new WatchSegment(12, [At(11, B2), At(12, A3, DelB), C4]));

        Assert.Equal(CheckerVerdict.Invalid, result.Verdict);
        Assert.Contains("revision 11 delivered twice", result.Summary);
    }

    [Fact]
    public void A_missing_revision_is_invalid()
    {
        CheckerResult result = Check(new WatchSegment(10, [At(10, A1), At(12, A3, DelB), C4]));

        Assert.Equal(CheckerVerdict.Invalid, result.Verdict);
        Assert.Contains("first 11 (put w/b=2)", result.Summary);
    }

    [Fact]
    public void A_split_transaction_is_invalid()
    {
        CheckerResult result = Check(new WatchSegment(10, [At(10, A1), At(11, B2), At(12, A3), C4]));

        Assert.Equal(CheckerVerdict.Invalid, result.Verdict);
        Assert.Contains("not atomic", result.Summary);
    }

    [Fact]
    public void Out_of_order_delivery_is_invalid()
    {
        CheckerResult result = Check(new WatchSegment(10, [At(11, B2), At(10, A1), At(12, A3, DelB), C4]));

        Assert.Equal(CheckerVerdict.Invalid, result.Verdict);
        Assert.Contains("revision 10 delivered after revision 11", result.Summary);
    }

    [Fact]
    public void A_bookmark_past_an_undelivered_revision_is_invalid()
    {
        CheckerResult result = Check(new WatchSegment(10, [At(10, A1), Bookmark(11), At(11, B2), At(12, A3, DelB), C4]));

        Assert.Equal(CheckerVerdict.Invalid, result.Verdict);
        Assert.Contains("bookmark at revision 11 although committed revision 11", result.Summary);
    }

    [Fact]
    public void A_resume_that_skips_ahead_is_invalid()
    {
        CheckerResult result = Check(new WatchSegment(10, [At(10, A1)]), new WatchSegment(12, [At(12, A3, DelB), C4]));

        Assert.Equal(CheckerVerdict.Invalid, result.Verdict);
        Assert.Contains("resumed at revision 12, not after the last one seen (10)", result.Summary);
    }

    [Fact]
    public void An_event_nobody_wrote_is_invalid()
    {
        CheckerResult result = Check(new WatchSegment(10, [At(10, A1), At(11, new KeyChange("w/b", "999")), At(12, A3, DelB), C4]));

        Assert.Equal(CheckerVerdict.Invalid, result.Verdict);
    }

    [Fact]
    public void A_watcher_that_never_reaches_the_last_acknowledged_write_is_invalid()
    {
        CheckerResult result = Check(new WatchSegment(10, [At(10, A1), At(11, B2)]));

        Assert.Equal(CheckerVerdict.Invalid, result.Verdict);
        Assert.Contains("short of the last acknowledged write at revision 13", result.Summary);
    }

    [Fact]
    public void Unknown_writes_seen_by_one_watcher_must_be_seen_by_every_watcher_covering_them()
    {
        var maybe = new KeyChange("w/m", "5");
        WatchedWrite[] writes = [new(A1, OperationOutcome.Ok, 10), new(maybe, OperationOutcome.Info, 0), new(B2, OperationOutcome.Ok, 12)];
        WatcherHistory saw = new(1, [new WatchSegment(10, [At(10, A1), At(11, maybe), At(12, B2)])]);
        WatcherHistory missed = new(2, [new WatchSegment(10, [At(10, A1), At(12, B2)])]);

        Assert.Equal(CheckerVerdict.Valid, WatchChecker.Check(writes, [saw]).Verdict);
        CheckerResult both = WatchChecker.Check(writes, [saw, missed]);
        Assert.Equal(CheckerVerdict.Invalid, both.Verdict);
        Assert.Contains("watcher 2", both.Summary);
    }
}
