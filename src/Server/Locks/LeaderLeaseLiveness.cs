using KvStore.Server.Leases;

namespace KvStore.Server.Locks;

/// <summary>
/// Lease liveness as the leader knows it: the <see cref="LeaseService"/>'s deadlines (a lease
/// whose TTL has run out is dead here even before its revocation is applied) AND the applied lease
/// records. While the lease service is not active (not leader, or a new leader still loading the
/// leases) no lease counts as alive, so no grant is proposed on stale knowledge.
/// </summary>
public sealed class LeaderLeaseLiveness : ILeaseLiveness
{
    private readonly LeaseService _service;
    private readonly LeaseTable _applied;

    public LeaderLeaseLiveness(LeaseService service, LeaseTable applied)
    {
        _service = service;
        _applied = applied;
    }

    public bool IsAlive(long lease) => _service.RemainingMs(lease) is > 0 && _applied.Exists(lease);
}
