using KvStore.Jepsen.Run;

namespace KvStore.Jepsen.Workloads.Locks;

/// <summary>A lock acquisition as the client saw it: who got which fencing token, and when (run-clock ns).</summary>
public sealed record LockGrant(int Process, long Token, long AcquiredNanos);

/// <summary>
/// A holder's write to the protected key: fenced (a transaction guarded by FENCE on the lock with
/// the holder's token) or, in the control variant, a plain put. <see cref="Outcome"/> Ok = accepted
/// (at <see cref="Revision"/>), Fail = refused by the fence, Info = unknown.
/// </summary>
public sealed record LockedWrite(int Process, long Token, string Value, long InvokeNanos, long CompleteNanos, OperationOutcome Outcome, long Revision);
