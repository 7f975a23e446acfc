using KvStore.Jepsen.Run;

namespace KvStore.Jepsen.Workloads;

/// <summary>Clients that exercise the cluster while the nemesis runs, then final reads, then a check.</summary>
public interface IWorkload : IAsyncDisposable
{
    string Name { get; }

    /// <summary>The history this workload records.</summary>
    HistoryRecorder History { get; }

    /// <summary>Runs the clients until <paramref name="cancellationToken"/> fires.</summary>
    Task RunClientsAsync(CancellationToken cancellationToken);

    /// <summary>After every fault is healed and the cluster has recovered: the final reads.</summary>
    Task FinalReadsAsync(CancellationToken cancellationToken);

    /// <summary>One result per checker the workload feeds (the lock workload has two: fenced and its unfenced control).</summary>
    IReadOnlyList<CheckerResult> Check();
}
