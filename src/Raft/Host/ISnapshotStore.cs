using KvStore.Raft.Core;

namespace KvStore.Raft.Host;

/// <summary>
/// Where a node keeps the latest snapshot of each group: the state machine's bytes plus the
/// metadata (index, term, ConfState) Raft needs to restart from it and to send it to a lagging
/// follower. The log store holds entries after the snapshot; this holds everything before.
/// A brand-new group is bootstrapped by saving an empty snapshot at index 0 whose ConfState
/// lists the initial voters.
/// </summary>
public interface ISnapshotStore
{
    /// <summary>The latest saved snapshot of <paramref name="group"/>, or null if none was ever saved.</summary>
    Snapshot? Load(ulong group);

    /// <summary>Replaces the group's snapshot. Durable when this returns.</summary>
    void Save(ulong group, Snapshot snapshot);

    /// <summary>Forgets the group's snapshot (a replica removed from this node).</summary>
    void Remove(ulong group);
}
