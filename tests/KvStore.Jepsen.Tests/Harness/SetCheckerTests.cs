using KvStore.Jepsen.Workloads;

namespace KvStore.Jepsen.Tests.Harness;

/// <summary>The set checker flags each anomaly a broken store would produce, and nothing else.</summary>
public sealed class SetCheckerTests
{
    private static readonly HashSet<long> Attempted = [1, 2, 3, 4];
    private static readonly Dictionary<long, long> Acknowledged = new() { [1] = 100, [2] = 200, [3] = 300 };
    private static readonly HashSet<long> Unknown = [4];

    [Fact]
    public void A_complete_final_read_with_fresh_reads_is_valid_and_counts_recovered_unknowns()
    {
        CheckerResult result = Check(reads: [(250, [1, 2])], final: [1, 2, 3, 4]);

        Assert.Equal(CheckerVerdict.Valid, result.Verdict);
        Assert.Equal(1, result.Details["recovered"]);
    }

    [Fact]
    public void An_unknown_add_may_be_missing()
    {
        Assert.Equal(CheckerVerdict.Valid, Check(reads: [], final: [1, 2, 3]).Verdict);
    }

    [Fact]
    public void An_acknowledged_element_missing_from_the_final_read_is_lost()
    {
        CheckerResult result = Check(reads: [], final: [1, 3]);

        Assert.Equal(CheckerVerdict.Invalid, result.Verdict);
        Assert.Equal(new long[] { 2 }, result.Details["lost"]);
    }

    [Fact]
    public void An_element_never_added_is_unexpected()
    {
        CheckerResult result = Check(reads: [], final: [1, 2, 3, 9]);

        Assert.Equal(CheckerVerdict.Invalid, result.Verdict);
        Assert.Equal(new long[] { 9 }, result.Details["unexpected"]);
    }

    [Fact]
    public void An_element_read_twice_is_duplicated()
    {
        CheckerResult result = Check(reads: [], final: [1, 2, 2, 3]);

        Assert.Equal(CheckerVerdict.Invalid, result.Verdict);
        Assert.Equal(new long[] { 2 }, result.Details["duplicated"]);
    }

    [Fact]
    public void A_read_missing_an_element_acknowledged_before_it_began_is_stale()
    {
        // Element 2 was acknowledged at 200; a read invoked at 250 must see it.
        CheckerResult result = Check(reads: [(250, [1])], final: [1, 2, 3]);

        Assert.Equal(CheckerVerdict.Invalid, result.Verdict);
        Assert.Single((List<string>)result.Details["staleReads"]);
    }

    [Fact]
    public void A_read_concurrent_with_the_acknowledgement_need_not_see_it()
    {
        Assert.Equal(CheckerVerdict.Valid, Check(reads: [(150, [1])], final: [1, 2, 3]).Verdict);
    }

    [Fact]
    public void No_final_read_is_unknown()
    {
        Assert.Equal(CheckerVerdict.Unknown, Check(reads: [], final: null).Verdict);
    }

    private static CheckerResult Check(List<(long, HashSet<long>)> reads, List<long>? final) =>
        SetChecker.Check(Attempted, Acknowledged, Unknown, reads.Select(r => (r.Item1, (IReadOnlySet<long>)r.Item2)).ToList(), final, new Dictionary<string, object>());
}
