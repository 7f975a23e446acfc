using KvStore.Jepsen.Run;
using KvStore.Jepsen.Workloads;
using KvStore.Jepsen.Workloads.Locks;

namespace KvStore.Jepsen.Tests.Checkers;

public sealed class LockCheckerTests
{
    private static readonly LockGrant[] TwoHolders = [new(1, 10, 100), new(2, 20, 500)];

    private static LockedWrite Accepted(int process, long token, long revision) =>
        new(process, token, $"p{process}-r{revision}", revision * 10, revision * 10 + 5, OperationOutcome.Ok, revision);

    [Fact]
    public void Holders_writing_one_after_the_other_in_token_order_are_valid()
    {
        LockedWrite[] writes = [Accepted(1, 10, 11), Accepted(1, 10, 12), Accepted(2, 20, 21), new(1, 10, "late", 600, 610, OperationOutcome.Fail, 0)];

        CheckerResult result = LockChecker.Check(TwoHolders, writes, "p2-r21", finalRead: true, control: false);

        Assert.Equal(CheckerVerdict.Valid, result.Verdict);
        Assert.Equal(1, result.Details["refused"]);
    }

    [Fact]
    public void A_stale_holders_write_accepted_after_its_successors_is_invalid_and_named()
    {
        LockedWrite[] writes = [Accepted(1, 10, 11), Accepted(2, 20, 21), Accepted(1, 10, 22)];

        CheckerResult result = LockChecker.Check(TwoHolders, writes, "p1-r22", finalRead: true, control: false);

        Assert.Equal(CheckerVerdict.Invalid, result.Verdict);
        Assert.Contains("process 1 (token 10) wrote 'p1-r22' at revision 22, after process 2 (token 20) wrote at revision 21", result.Summary);
    }

    [Fact]
    public void A_token_granted_to_two_processes_is_invalid()
    {
        LockGrant[] grants = [new(1, 10, 100), new(2, 10, 200)];

        CheckerResult result = LockChecker.Check(grants, [], null, finalRead: true, control: false);

        Assert.Equal(CheckerVerdict.Invalid, result.Verdict);
        Assert.Contains("token 10 was granted to processes 1, 2", result.Summary);
    }

    [Fact]
    public void A_write_with_a_token_never_granted_to_its_writer_is_invalid()
    {
        CheckerResult result = LockChecker.Check(TwoHolders, [Accepted(2, 10, 11)], "p2-r11", finalRead: true, control: false);

        Assert.Equal(CheckerVerdict.Invalid, result.Verdict);
        Assert.Contains("never granted", result.Summary);
    }

    [Fact]
    public void A_lost_last_write_is_invalid_but_an_unknown_one_may_be_the_final_value()
    {
        LockedWrite[] writes = [Accepted(1, 10, 11), Accepted(2, 20, 21), new(2, 20, "maybe", 300, 400, OperationOutcome.Info, 0)];

        Assert.Equal(CheckerVerdict.Invalid, LockChecker.Check(TwoHolders, writes, "p1-r11", finalRead: true, control: false).Verdict);
        Assert.Equal(CheckerVerdict.Valid, LockChecker.Check(TwoHolders, writes, "maybe", finalRead: true, control: false).Verdict);
        Assert.Equal(CheckerVerdict.Valid, LockChecker.Check(TwoHolders, writes, "p2-r21", finalRead: true, control: false).Verdict);
    }

    [Fact]
    public void The_unfenced_control_is_valid_only_when_it_shows_a_violation()
    {
        LockedWrite[] interleaved = [Accepted(1, 10, 11), Accepted(2, 20, 21), Accepted(1, 10, 22)];
        LockedWrite[] orderly = [Accepted(1, 10, 11), Accepted(2, 20, 21)];

        Assert.Equal(CheckerVerdict.Valid, LockChecker.Check(TwoHolders, interleaved, "p1-r22", finalRead: true, control: true).Verdict);
        Assert.Equal(CheckerVerdict.Unknown, LockChecker.Check(TwoHolders, orderly, "p2-r21", finalRead: true, control: true).Verdict);
    }

    [Fact]
    public void Without_a_final_read_a_clean_run_is_unknown()
    {
        Assert.Equal(CheckerVerdict.Unknown, LockChecker.Check(TwoHolders, [Accepted(1, 10, 11)], null, finalRead: false, control: false).Verdict);
    }
}
