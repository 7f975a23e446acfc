using System.Text;
using KvStore.Jepsen.Histories;
using KvStore.Jepsen.Linearizability;
using KvStore.Jepsen.Linearizability.Models;
using static KvStore.Jepsen.Tests.Linearizability.TestHistories;

namespace KvStore.Jepsen.Tests.Linearizability;

public sealed class LinearizabilityCheckerTests
{
    [Fact]
    public void Empty_history_is_linearizable()
    {
        CheckResult result = Check(RegisterModel.CompareAndSet, []);

        Assert.Equal(Verdict.Linearizable, result.Verdict);
        Assert.Empty(result.Partitions);
    }

    [Fact]
    public void Time_budget_exhausted_gives_an_unknown_verdict()
    {
        // Every write overlaps every other and a read of a value nobody wrote: refuting it means
        // visiting every subset of the writes, about 24 * 2^23 configurations.
        IReadOnlyList<Operation> history = ConcurrentWritesAndImpossibleRead(writes: 24);

        CheckResult result = LinearizabilityChecker.Check(RegisterModel.Plain, history, new CheckBudget(TimeSpan.FromMilliseconds(50)));

        Assert.Equal(Verdict.Unknown, result.Verdict);
        Assert.Equal(Verdict.Unknown, Assert.Single(result.Partitions).Verdict);
        Assert.Null(result.Partitions[0].Counterexample);
    }

    [Fact]
    public void The_same_shape_small_enough_is_decided()
    {
        IReadOnlyList<Operation> history = ConcurrentWritesAndImpossibleRead(writes: 6);

        Assert.Equal(Verdict.NotLinearizable, Check(RegisterModel.Plain, history).Verdict);
    }

    [Fact]
    public void Cancellation_gives_an_unknown_verdict()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        CheckResult result = LinearizabilityChecker.Check(RegisterModel.Plain, ConcurrentWritesAndImpossibleRead(writes: 6),
            new CheckBudget(null, cancelled.Token));

        Assert.Equal(Verdict.Unknown, result.Verdict);
    }

    [Fact]
    public void A_violation_in_one_key_is_found_even_when_another_key_cannot_be_decided()
    {
        var history = new List<Operation>(ConcurrentWritesAndImpossibleRead(writes: 24, key: "hard"));
        history.AddRange(Log("""
            0 :invoke :read nil
            0 :ok :read 5
            """).Select(o => o with { Id = history.Count + o.Id, Key = "easy", CallTime = 1000 + o.CallTime, ReturnTime = 1000 + o.ReturnTime }));

        CheckResult result = LinearizabilityChecker.Check(RegisterModel.Plain, history, new CheckBudget(TimeSpan.FromSeconds(30)));

        Assert.Equal(Verdict.NotLinearizable, result.Verdict);
        Assert.Equal(Verdict.NotLinearizable, result.Partitions.Single(p => p.Label == "key \"easy\"").Verdict);
        Assert.Equal(Verdict.Unknown, result.Partitions.Single(p => p.Label == "key \"hard\"").Verdict);
    }

    [Fact]
    public void Report_explains_the_violation_with_clients_values_and_lines()
    {
        var history = Log("""
            0 :invoke :write 1
            0 :ok :write 1
            1 :invoke :cas [1 2]
            1 :ok :cas [1 2]
            2 :invoke :read nil
            2 :ok :read 1
            """);
        var text = new StringWriter();

        CheckReportWriter.Write(Check(RegisterModel.CompareAndSet, history), text);

        string report = text.ToString();
        Assert.Contains("verdict: NOT linearizable", report);
        Assert.Contains("longest linearizable prefix: 2 of 3 operations", report);
        Assert.Contains("process 1: cas 1 -> 2 [invoked line 3, completed line 4]", report);
        Assert.Contains("state after the prefix: 2", report);
        Assert.Contains("process 2: read -> 1 [invoked line 5, completed line 6]: impossible in state 2", report);
    }

    /// <summary>
    /// The search against brute force on random small histories: every order of the operations
    /// that respects real time, run through the model. Histories are made by running a real
    /// register (each operation takes effect at a random point inside its interval), then half
    /// of them get one result changed.
    /// </summary>
    /// <remarks>Also run with the search cache limited or off: the cache may only prune.</remarks>
    [Theory]
    [InlineData(CacheAllowance.DefaultEntries)]
    [InlineData(3)]
    [InlineData(0)]
    public void Search_agrees_with_brute_force_on_random_small_histories(long cacheEntries)
    {
        var random = new Random(20261124);
        int linearizable = 0;
        for (int round = 0; round < 400; round++)
        {
            IReadOnlyList<Operation> history = RandomHistory(random, operations: random.Next(1, 8));
            bool expected = BruteForceLinearizable(RegisterModel.CompareAndSet, history);

            Verdict verdict = LinearizabilityChecker.Check(RegisterModel.CompareAndSet, history,
                new CheckBudget(TimeSpan.FromSeconds(30)), cacheEntries).Verdict;

            Assert.True(verdict == (expected ? Verdict.Linearizable : Verdict.NotLinearizable),
                $"round {round}: brute force says {(expected ? "linearizable" : "not linearizable")}, the search {verdict}:\n" +
                string.Join('\n', history.Select(Describe)));
            linearizable += expected ? 1 : 0;
        }
        // Both outcomes must be well represented, or the comparison proves little.
        Assert.InRange(linearizable, 50, 350);
    }

    private static IReadOnlyList<Operation> ConcurrentWritesAndImpossibleRead(int writes, string? key = null)
    {
        var operations = new List<Operation>();
        for (int i = 0; i <= writes; i++)
        {
            bool read = i == writes;
            operations.Add(new Operation(i, i, read ? OperationFunction.Read : OperationFunction.Write, key,
                read ? HistoryValue.Nil : new IntegerValue(i),
                read ? new IntegerValue(-1) : HistoryValue.Nil,
                OutcomeKnown: true, CallTime: i, ReturnTime: 1000 - i,
                new SourcePosition("generated", i + 1), new SourcePosition("generated", 1000 - i)));
        }
        return operations;
    }

    private static IReadOnlyList<Operation> RandomHistory(Random random, int operations)
    {
        var intervals = Enumerable.Range(0, operations)
            .Select(_ =>
            {
                long call = random.Next(0, 20);
                long ret = call + random.Next(0, 10);
                return (Call: call, Return: ret, Point: call + (random.NextDouble() * (ret - call)));
            })
            .OrderBy(i => i.Call)
            .ToList();

        HistoryValue[] values = [HistoryValue.Nil, new IntegerValue(0), new IntegerValue(1), new IntegerValue(2)];
        HistoryValue state = HistoryValue.Nil;
        var built = new Operation[operations];
        foreach (int i in Enumerable.Range(0, operations).OrderBy(i => intervals[i].Point))
        {
            var (call, ret, _) = intervals[i];
            bool known = random.Next(5) > 0;
            HistoryValue input = HistoryValue.Nil, output = HistoryValue.Nil;
            OperationFunction function = (OperationFunction)random.Next(3); // read, write or cas
            switch (function)
            {
                case OperationFunction.Read:
                    output = state;
                    break;
                case OperationFunction.Write:
                    input = values[random.Next(1, 4)];
                    state = input;
                    break;
                default:
                    // Expect the current value most of the time so swaps happen; an ok cas swapped.
                    HistoryValue expected = random.Next(3) > 0 ? state : values[random.Next(4)];
                    input = new ListValue([expected, values[random.Next(1, 4)]]);
                    if (state.Equals(expected))
                    {
                        state = ((ListValue)input).Items[1];
                    }
                    else if (known)
                    {
                        function = OperationFunction.Write; // a cas that did not swap is a :fail and dropped; keep the op count
                        input = state;
                    }
                    break;
            }
            built[i] = new Operation(i, i, function, null, input, known ? output : HistoryValue.Nil, known,
                call, known ? ret : Operation.Infinity, new SourcePosition("random", 2 * i + 1), known ? new SourcePosition("random", 2 * i + 2) : null);
        }

        if (random.Next(2) == 0)
        {
            int victim = random.Next(operations);
            Operation o = built[victim];
            built[victim] = o.Function switch
            {
                OperationFunction.Read when o.OutcomeKnown => o with { Output = values[random.Next(4)] },
                OperationFunction.Cas => o with { Input = new ListValue([values[random.Next(4)], ((ListValue)o.Input).Items[1]]) },
                _ => o with { Input = values[random.Next(1, 4)] },
            };
        }
        return built;
    }

    private static bool BruteForceLinearizable<TState>(ISequentialModel<TState> model, IReadOnlyList<Operation> history)
        where TState : notnull
    {
        var used = new bool[history.Count];
        bool Extend(TState state, int placed)
        {
            if (placed == history.Count)
            {
                return true;
            }
            for (int i = 0; i < history.Count; i++)
            {
                // i may go next only if no unplaced operation returned before i was called.
                if (used[i] || Enumerable.Range(0, history.Count).Any(j => !used[j] && j != i && history[j].ReturnTime < history[i].CallTime))
                {
                    continue;
                }
                if (model.Step(state, history[i], out TState next))
                {
                    used[i] = true;
                    bool found = Extend(next, placed + 1);
                    used[i] = false;
                    if (found)
                    {
                        return true;
                    }
                }
            }
            return false;
        }
        return Extend(model.Init(), 0);
    }

    private static string Describe(Operation o) =>
        new StringBuilder().Append($"  p{o.Process} {RegisterModel.CompareAndSet.DescribeOperation(o)} [{o.CallTime}, {(o.OutcomeKnown ? o.ReturnTime : "inf")}]").ToString();
}
