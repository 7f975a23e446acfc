namespace KvStore.Server.Locks;

/// <summary>
/// The leader's knowledge of which leases are alive. The lock service asks it immediately before
/// proposing a grant, so a waiter whose lease the leader already considers expired (but whose
/// revocation is not applied yet) is never granted — the bug Jepsen found in etcd 3.4.3's lock
/// service, which granted locks to waiters whose leases had lapsed while they waited.
/// </summary>
public interface ILeaseLiveness
{
    /// <summary>Whether <paramref name="lease"/> exists and has not expired, as this (leader) node knows it.</summary>
    bool IsAlive(long lease);
}
