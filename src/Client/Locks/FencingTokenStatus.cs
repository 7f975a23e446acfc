namespace KvStore.Client;

/// <summary>The answer of a fencing token check (Chubby's CheckSequencer).</summary>
/// <param name="Valid">The lock is held with exactly the token asked about, now.</param>
/// <param name="CurrentToken">The token the lock is held with now; 0 when it is free.</param>
/// <param name="Revision">The store revision the answer was read at.</param>
public sealed record FencingTokenStatus(bool Valid, long CurrentToken, long Revision);
