using KvStore.Jepsen.Run;

namespace KvStore.Jepsen.Workloads.Watches;

/// <summary>One change of a watched key: a put of <see cref="Value"/>, or a delete when it is null.</summary>
public sealed record KeyChange(string Key, string? Value)
{
    public override string ToString() => Value is null ? $"delete {Key}" : $"put {Key}={Value}";
}

/// <summary>A writer's operation on the watched prefix; <see cref="Revision"/> is known when it was acknowledged.</summary>
public sealed record WatchedWrite(KeyChange Change, OperationOutcome Outcome, long Revision);

/// <summary>What one watch stream delivered at one revision: its events, or a progress bookmark (no events).</summary>
public sealed record WatchDelivery(long Revision, IReadOnlyList<KeyChange> Events, bool IsProgress);

/// <summary>
/// One watch stream of a watcher: opened at <see cref="StartRevision"/> (the first one anywhere,
/// each later one, after a restart, at the revision after the last one the watcher saw).
/// </summary>
public sealed record WatchSegment(long StartRevision, IReadOnlyList<WatchDelivery> Deliveries);

/// <summary>Everything one watcher saw, stream after stream.</summary>
public sealed record WatcherHistory(int Watcher, IReadOnlyList<WatchSegment> Segments);
