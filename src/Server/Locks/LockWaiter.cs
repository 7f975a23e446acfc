namespace KvStore.Server.Locks;

/// <summary>How a <see cref="LockWaiter"/>'s wait ended.</summary>
public enum LockWaitOutcome
{
    /// <summary>The waiter holds the lock; its token is the waiter key's create_revision.</summary>
    Granted,

    /// <summary>The waiter key was deleted or re-created (its lease ended, or it was unlocked).</summary>
    Gone,

    /// <summary>The lock was granted to a younger waiter (the leader believed this one's lease dead): queue again.</summary>
    Overtaken,
}

/// <summary>
/// A LockRequest (or Campaign) being served on this node, waiting for the applied state to show
/// its waiter key granted. Completed by the <see cref="LockService"/> from applied state only,
/// so it is answered on whichever node the client waits on, leader or not.
/// </summary>
public sealed class LockWaiter
{
    private readonly TaskCompletionSource<LockWaitOutcome> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public LockWaiter(byte[] name, byte[] key, long createRevision, long lockDelayMs)
    {
        Name = name;
        Key = key;
        CreateRevision = createRevision;
        LockDelayMs = lockDelayMs;
    }

    public byte[] Name { get; }

    public byte[] Key { get; }

    /// <summary>The waiter key's create_revision: its place in the queue and, once granted, its fencing token.</summary>
    public long CreateRevision { get; }

    /// <summary>The lock-delay this request asked for; recorded with its grant.</summary>
    public long LockDelayMs { get; }

    public Task<LockWaitOutcome> Outcome => _done.Task;

    /// <summary>What the service saw when it ended the wait other than by a grant (for the error message).</summary>
    public string Detail { get; private set; } = string.Empty;

    internal void Complete(LockWaitOutcome outcome, string detail = "")
    {
        if (!_done.Task.IsCompleted)
        {
            Detail = detail;
        }

        _done.TrySetResult(outcome);
    }
}
