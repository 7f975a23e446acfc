namespace KvStore.Server.Leases;

/// <summary>What an applied command did to a lease; see <see cref="Mvcc.KvStateMachine.LeaseChanged"/>.</summary>
public enum LeaseChangeKind
{
    Granted,
    Checkpointed,
    Ended,
}

/// <summary>
/// One lease change of an applied command, reported after the command's batch is committed.
/// <paramref name="RemainingMs"/> is the TTL left as recorded (granted TTL for a grant, the
/// checkpointed value for a checkpoint, 0 when ended).
/// </summary>
public readonly record struct LeaseChange(long Id, LeaseChangeKind Kind, long GrantedTtlSeconds, long RemainingMs, bool Expired);
