using System.Diagnostics;
using KvStore.Jepsen.Histories;

namespace KvStore.Jepsen.Linearizability;

/// <summary>
/// Decides whether a history is linearizable with respect to a sequential model.
/// <para>
/// The search is Wing and Gong's, made practical by Lowe ("Testing for linearizability", 2017) and
/// by Horn and Kroening's P-compositionality ("Faster linearizability checking via
/// P-compositionality", 2015), the design the Porcupine checker made popular. The history is
/// split into independent parts by the model; for each part, the call and return entries sit in
/// one list in real-time order. Walking the list, the search tries to linearize each operation
/// whose call comes before the first remaining return (any later one would break real-time
/// order): if the model accepts it and the resulting (linearized set, state) pair is new, the
/// operation is lifted out and the walk restarts at the head. Reaching a return entry means its
/// operation can no longer be placed, so the search backtracks the most recent choice. An empty
/// list is a complete linearization.
/// </para>
/// <para>
/// Operations of unknown outcome return at +infinity: they can always wait, so they take effect
/// wherever that helps, or at the very end, which is the same as never.
/// </para>
/// </summary>
public static class LinearizabilityChecker
{
    /// <summary>Search steps one part takes before the next part's turn and a look at the clock.</summary>
    private const int StepsPerTurn = 4096;

    /// <summary>
    /// Checks <paramref name="history"/> against <paramref name="model"/> within <paramref name="budget"/>.
    /// Throws <see cref="HistoryFormatException"/> for an operation the model does not have.
    /// </summary>
    public static CheckResult Check<TState>(ISequentialModel<TState> model, IReadOnlyList<Operation> history, CheckBudget budget)
        where TState : notnull =>
        Check(model, history, budget, CacheAllowance.DefaultEntries);

    /// <summary>As <see cref="Check{TState}(ISequentialModel{TState}, IReadOnlyList{Operation}, CheckBudget)"/>,
    /// with the number of configurations the search caches may store.</summary>
    internal static CheckResult Check<TState>(ISequentialModel<TState> model, IReadOnlyList<Operation> history, CheckBudget budget, long cacheEntries)
        where TState : notnull
    {
        foreach (Operation operation in history)
        {
            if (model.Validate(operation) is { } reason)
            {
                throw new HistoryFormatException(operation.Invoked.File, operation.Invoked.Line,
                    $"model {model.Name}: {reason}");
            }
        }

        long started = Stopwatch.GetTimestamp();
        IReadOnlyList<SubHistory> parts = model.Partition(history);
        var allowance = new CacheAllowance(cacheEntries);
        var searches = parts.Select(part => new PartitionSearch<TState>(model, part.Operations, allowance)).ToArray<PartitionSearch<TState>?>();
        var verdicts = new Verdict?[parts.Count];
        var longestPrefixes = new IReadOnlyList<int>[parts.Count];

        // Parts are searched in turns of a few thousand steps rather than one after another: a
        // part that is hard to refute must not hide an easy violation in another part, and one
        // violation decides the whole history, so the search stops there.
        bool violation = false;
        int undecided = parts.Count;
        while (undecided > 0 && !violation && !budget.IsExhausted)
        {
            for (int i = 0; i < parts.Count && !violation; i++)
            {
                if (searches[i]?.Advance(StepsPerTurn) is { } decided)
                {
                    verdicts[i] = decided;
                    longestPrefixes[i] = searches[i]!.LongestPrefix;
                    searches[i] = null; // its cache can be large; a decided part needs none of it
                    undecided--;
                    violation = decided == Verdict.NotLinearizable;
                }
            }
        }

        var results = new List<PartitionResult>(parts.Count);
        for (int i = 0; i < parts.Count; i++)
        {
            Verdict partVerdict = verdicts[i] ?? Verdict.Unknown;
            Counterexample? counterexample = partVerdict == Verdict.NotLinearizable
                ? Explain(model, parts[i].Operations, longestPrefixes[i])
                : null;
            results.Add(new PartitionResult(parts[i].Label, parts[i].Operations.Count, partVerdict, counterexample));
        }

        Verdict verdict = violation ? Verdict.NotLinearizable
            : undecided > 0 ? Verdict.Unknown
            : Verdict.Linearizable;
        return new CheckResult(model.Name, verdict, results, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>
    /// Replays the longest prefix and lists the operations that could have come next: those whose
    /// call precedes the earliest return among the operations left (real-time order forbids the
    /// others), exactly the candidates the search's walk tries first.
    /// </summary>
    private static Counterexample Explain<TState>(ISequentialModel<TState> model, IReadOnlyList<Operation> operations, IReadOnlyList<int> longest)
        where TState : notnull
    {
        TState state = model.Init();
        var placed = new bool[operations.Count];
        var prefix = new List<DescribedOperation>(longest.Count);
        foreach (int index in longest)
        {
            Operation operation = operations[index];
            if (!model.Step(state, operation, out state))
            {
                throw new InvalidOperationException(
                    $"the model {model.Name} rejected operation {operation.Id} while replaying a prefix it accepted during the search");
            }
            placed[index] = true;
            prefix.Add(new DescribedOperation(operation, model.DescribeOperation(operation)));
        }

        long earliestReturn = long.MaxValue;
        for (int i = 0; i < operations.Count; i++)
        {
            if (!placed[i])
            {
                earliestReturn = Math.Min(earliestReturn, operations[i].ReturnTime);
            }
        }
        var stuck = new List<DescribedOperation>();
        for (int i = 0; i < operations.Count; i++)
        {
            Operation operation = operations[i];
            if (!placed[i] && operation.CallTime <= earliestReturn)
            {
                if (model.Step(state, operation, out _))
                {
                    throw new InvalidOperationException(
                        $"the model {model.Name} accepts operation {operation.Id} after the longest prefix, so the search missed a longer one");
                }
                stuck.Add(new DescribedOperation(operation, model.DescribeOperation(operation)));
            }
        }
        return new Counterexample(prefix, operations.Count, model.DescribeState(state), stuck);
    }
}
