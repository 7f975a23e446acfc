using KvStore.Jepsen.Workloads;
using KvStore.Jepsen.Workloads.Leases;

namespace KvStore.Jepsen.Tests.Checkers;

public sealed class LeaseCheckerTests
{
    private const long S = 1_000_000_000;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(3);

    [Fact]
    public void Keys_of_revoked_expired_and_live_leases_behaving_are_valid()
    {
        LeaseLife[] leases =
        [
            new(1, "l/1", 5000, 0, 2 * S, LeaseEnding.Revoked, 3 * S),
            new(2, "l/2", 5000, 0, 2 * S, LeaseEnding.Abandoned, 2 * S),
            new(3, "l/3", 5000, 0, 19 * S, LeaseEnding.KeptAlive, 20 * S),
        ];
        LeaseKeyRead[] reads =
        [
            new("l/1", true, 2 * S, 2 * S + 10, Final: false),
            new("l/1", false, 3 * S + 1, 3 * S + 10, Final: false),
            new("l/2", true, 9 * S, 9 * S + 10, Final: false), // within TTL + bound: may still be there
            new("l/2", false, 11 * S, 11 * S + 10, Final: false),
            new("l/3", true, 21 * S, 21 * S + 10, Final: true),
        ];

        CheckerResult result = LeaseChecker.Check(leases, reads, Bound);

        Assert.Equal(CheckerVerdict.Valid, result.Verdict);
        Assert.Equal(1, result.Details["liveChecked"]);
    }

    [Fact]
    public void A_key_read_after_its_revoke_returned_is_invalid()
    {
        LeaseLife[] leases = [new(1, "l/1", 5000, 0, 0, LeaseEnding.Revoked, 3 * S)];

        CheckerResult result = LeaseChecker.Check(leases, [new LeaseKeyRead("l/1", true, 3 * S + 1, 3 * S + 10, Final: false)], Bound);

        Assert.Equal(CheckerVerdict.Invalid, result.Verdict);
        Assert.Contains("after its revoke was acknowledged", result.Summary);
    }

    [Fact]
    public void A_lease_outliving_its_ttl_plus_the_bound_is_invalid()
    {
        LeaseLife[] leases = [new(2, "l/2", 5000, 0, 2 * S, LeaseEnding.Abandoned, 2 * S)];

        CheckerResult result = LeaseChecker.Check(leases, [new LeaseKeyRead("l/2", true, 10 * S + 1, 10 * S + 10, Final: false)], Bound);

        Assert.Equal(CheckerVerdict.Invalid, result.Verdict);
        Assert.Contains("past TTL + 3 s", result.Summary);
    }

    [Fact]
    public void A_live_lease_losing_its_key_is_invalid_unless_its_renewals_had_stopped()
    {
        LeaseKeyRead final = new("l/3", false, 21 * S, 21 * S + 10, Final: true);

        Assert.Equal(CheckerVerdict.Invalid, LeaseChecker.Check([new LeaseLife(3, "l/3", 5000, 0, 19 * S, LeaseEnding.KeptAlive, 20 * S)], [final], Bound).Verdict);
        Assert.Equal(CheckerVerdict.Valid, LeaseChecker.Check([new LeaseLife(3, "l/3", 5000, 0, 10 * S, LeaseEnding.KeptAlive, 20 * S)], [final], Bound).Verdict);
    }
}
