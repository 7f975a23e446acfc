namespace KvStore.Client;

/// <summary>A lease as the leader sees it (<see cref="LeaseClient.TimeToLiveAsync"/>).</summary>
/// <param name="Id">The lease id.</param>
/// <param name="Exists">False when the lease is gone (expired, revoked or never granted); the other fields are then zero.</param>
/// <param name="Remaining">The TTL left, rounded up to whole seconds.</param>
/// <param name="GrantedTtl">The TTL the lease was granted with.</param>
/// <param name="Keys">The keys attached to the lease, when asked for.</param>
public sealed record LeaseTimeToLive(long Id, bool Exists, TimeSpan Remaining, TimeSpan GrantedTtl, IReadOnlyList<ReadOnlyMemory<byte>> Keys);
