using KvStore.Server.Leases;

namespace KvStore.Server.Locks;

/// <summary>
/// Lease liveness from the applied lease records (<see cref="LeaseTable.Exists"/>): a lease is
/// alive until the command that revokes or expires it is applied. On the leader that is the
/// leader's own knowledge, since only the leader proposes expiries.
/// </summary>
public sealed class AppliedLeaseLiveness : ILeaseLiveness
{
    private readonly LeaseTable _leases;

    public AppliedLeaseLiveness(LeaseTable leases)
    {
        _leases = leases;
    }

    public bool IsAlive(long lease) => _leases.Exists(lease);
}
