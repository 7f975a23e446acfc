using System.Collections.Concurrent;
using System.Diagnostics;
using KvStore.Raft.Core;
using Xunit.Abstractions;

namespace KvStore.Raft.Tests.Simulation;

/// <summary>
/// The simulator must have teeth: with each classic bug planted, the same general checker must report
/// a safety violation within the CI seed budget. Fault schedules are tuned per bug (as a tester would
/// aim a nemesis), the invariants are not.
/// </summary>
public sealed class SimulationTeethTests(ITestOutputHelper output)
{
    private const int SeedBudget = 2_000;

    [Fact]
    public void Granting_votes_without_the_log_check_is_caught()
    {
        var found = FindSafetyViolation(seed => new SimulationOptions
        {
            Seed = seed,
            Nodes = 3,
            Bugs = PlantedBugs.VoteWithoutLogCheck,
        });

        Assert.NotNull(found);
    }

    [Fact]
    public void Committing_an_earlier_term_entry_by_counting_replicas_is_caught()
    {
        // Figure 8 needs a leader to replicate an old entry without its own term's entry riding along,
        // then to vanish before its followers get the rest: one entry per Append, lossy links, no PreVote,
        // and leaders cut off at the moment they advance their commit index.
        var found = FindSafetyViolation(Figure8Schedule(PlantedBugs.CommitPreviousTermByCount));

        Assert.NotNull(found);
    }

    [Fact]
    public void Answering_a_vote_before_persisting_it_is_caught()
    {
        // Crash nodes right after they grant a vote, so the unpersisted vote is forgotten and given again.
        var found = FindSafetyViolation(seed => new SimulationOptions
        {
            Seed = seed,
            Nodes = 3,
            CrashAfterVoteRate = 0.5,
            Bugs = PlantedBugs.AnswerBeforePersistingVote,
        });

        Assert.NotNull(found);
    }

    [Fact]
    public void Without_a_planted_bug_the_tuned_schedules_find_nothing()
    {
        var options = new Func<ulong, SimulationOptions>[]
        {
            Figure8Schedule(PlantedBugs.None),
            seed => new SimulationOptions { Seed = seed, Nodes = 3, CrashAfterVoteRate = 0.5 },
        };
        foreach (var make in options)
        {
            SimulationRunner.RunAll(nameof(Without_a_planted_bug_the_tuned_schedules_find_nothing), 150, make, output);
        }
    }

    private static Func<ulong, SimulationOptions> Figure8Schedule(PlantedBugs bugs) => seed => new SimulationOptions
    {
        Seed = seed,
        Nodes = 5,
        MaxSizePerMessage = 1,
        PreVote = false,
        CheckQuorum = false,
        MaxDropRate = 0.3,
        IsolateLeaderAfterCommitRate = 0.3,
        NemesisInterval = 200,
        FaultTicks = 150,
        ClientInterval = 15,
        ElectionTick = 4,
        Bugs = bugs,
    };

    /// <summary>Runs seeds until the checker reports a safety violation; returns the smallest such seed found.</summary>
    private SimulationFailureException? FindSafetyViolation(Func<ulong, SimulationOptions> options)
    {
        var clock = Stopwatch.StartNew();
        var found = new ConcurrentBag<SimulationFailureException>();
        var kinds = new ConcurrentDictionary<string, int>();
        int runs = 0;
        Parallel.For(1, SeedBudget + 1, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, (seed, state) =>
        {
            Interlocked.Increment(ref runs);
            try
            {
                new Simulator(options((ulong)seed)).Run();
            }
            catch (SimulationFailureException e)
            {
                kinds.AddOrUpdate(e.Kind.ToString(), 1, (_, n) => n + 1);
                if (e.Kind == SimulationFailureKind.Safety)
                {
                    found.Add(e);
                    state.Stop();
                }
            }
        });

        var first = found.OrderBy(e => e.Seed).FirstOrDefault();
        output.WriteLine(first is null
            ? $"no safety violation in {runs} seeds ({clock.Elapsed.TotalSeconds:F1} s); other failures: {string.Join(", ", kinds)}"
            : $"caught at seed {first.Seed} after {runs} runs ({clock.Elapsed.TotalSeconds:F1} s): {first.Invariant}");
        return first;
    }
}
