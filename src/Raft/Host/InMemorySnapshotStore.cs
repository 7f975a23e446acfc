using System.Collections.Concurrent;
using KvStore.Raft.Core;

namespace KvStore.Raft.Host;

/// <summary>Snapshots held in memory, for tests, the simulator and the in-memory benchmark. Survives a host restart, not a process exit.</summary>
public sealed class InMemorySnapshotStore : ISnapshotStore
{
    private readonly ConcurrentDictionary<ulong, Snapshot> _snapshots = new();

    public Snapshot? Load(ulong group) => _snapshots.GetValueOrDefault(group);

    public void Save(ulong group, Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        // Copy: the caller's buffer may be pooled or reused.
        _snapshots[group] = snapshot with { Data = snapshot.Data.ToArray() };
    }

    public void Remove(ulong group) => _snapshots.TryRemove(group, out _);
}
