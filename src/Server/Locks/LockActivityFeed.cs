using KvStore.Server.Mvcc;
using KvStore.Server.Protos;

namespace KvStore.Server.Locks;

/// <summary>
/// Tells the node's lock service which locks an applied command touched (a waiter key put or
/// deleted, a grant), right after the command's batch is committed — so hand-off reacts to a
/// release at once instead of at the next poll. Runs on the apply thread: it only pattern-matches
/// the command's changed keys and hands the names over; the listener must not block.
/// </summary>
public sealed class LockActivityFeed
{
    private volatile ILockActivityListener? _listener;

    /// <summary>Sets the one listener (the node's <see cref="LockService"/>); null detaches it.</summary>
    public void Attach(ILockActivityListener? listener) => _listener = listener;

    internal void Committed(KvCommand command, MvccWrite write)
    {
        if (_listener is not { } listener)
        {
            return;
        }

        List<byte[]>? names = null;
        foreach ((byte[] key, _) in write.Changes)
        {
            if (WaiterKeys.TryGetName(key, out byte[] name))
            {
                (names ??= []).Add(name);
            }
        }

        if (command.OpCase == KvCommand.OpOneofCase.LockGrant)
        {
            (names ??= []).Add(command.LockGrant.Name.ToByteArray());
        }
        else if (command.OpCase == KvCommand.OpOneofCase.LockUnlock && command.LockUnlock.Next is { } next)
        {
            // A hand-off granted in the unlock's own write: its waiters wake on this notification.
            (names ??= []).Add(next.Name.ToByteArray());
        }

        if (names is not null)
        {
            listener.LocksChanged(names);
        }
    }

    /// <summary>The whole state was replaced (a snapshot was installed): every lock may have changed.</summary>
    internal void Restored() => _listener?.AllLocksChanged();
}
