using KvStore.Jepsen.Histories;
using KvStore.Jepsen.Linearizability;

namespace KvStore.Jepsen.Tests.Linearizability;

/// <summary>Small hand-written histories for the model tests.</summary>
internal static class TestHistories
{
    /// <summary>Generous for a dozen operations; an unknown verdict fails the asserting test.</summary>
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Jepsen log events written without the logger prefix, one per line:
    /// <c>0 :invoke :write 1</c>. Line numbers in results count these lines from 1.
    /// </summary>
    public static IReadOnlyList<Operation> Log(string events)
    {
        string log = string.Join('\n', events.Split('\n')
            .Select(line => line.Trim())
            .Select(line => line.Length == 0 ? "" : $"INFO  jepsen.util - {line}"));
        return HistoryFile.Parse("test.log", log, HistoryFormat.JepsenLog).Operations;
    }

    /// <summary>EDN event maps, one per line.</summary>
    public static IReadOnlyList<Operation> Edn(string events) =>
        HistoryFile.Parse("test.edn", events.Trim(), HistoryFormat.Edn).Operations;

    public static CheckResult Check<TState>(ISequentialModel<TState> model, IReadOnlyList<Operation> history)
        where TState : notnull =>
        LinearizabilityChecker.Check(model, history, new CheckBudget(Budget));
}
