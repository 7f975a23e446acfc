namespace KvStore.Server.Locks;

/// <summary>Receives <see cref="LockActivityFeed"/> notifications on the apply thread; must return at once.</summary>
public interface ILockActivityListener
{
    /// <summary>These locks' waiters, holder or grant may have changed (names may repeat).</summary>
    void LocksChanged(IReadOnlyList<byte[]> names);

    /// <summary>Every lock may have changed (a snapshot replaced the state).</summary>
    void AllLocksChanged();
}
