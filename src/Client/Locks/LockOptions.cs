namespace KvStore.Client;

/// <summary>Options of a lock acquisition.</summary>
public sealed record LockOptions
{
    /// <summary>
    /// Chubby's lock-delay: if this holder's lease EXPIRES (not on an explicit release), the lock is
    /// not granted to anyone else until this long afterwards, so that requests the lost holder
    /// already sent can drain. Zero (the default) grants the next waiter at once.
    /// </summary>
    public TimeSpan LockDelay { get; init; } = TimeSpan.Zero;
}
