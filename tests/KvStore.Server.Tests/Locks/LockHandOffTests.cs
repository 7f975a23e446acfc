using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using KvStore.Server.Locks;
using KvStore.Server.Mvcc;
using KvStore.Server.Protos;
using KvStore.Storage.IO;

namespace KvStore.Server.Tests.Locks;

/// <summary>
/// The one-write hand-off: an explicit unlock carrying the next waiter's grant
/// (<see cref="LockUnlock.Next"/>) frees and grants in one command, and a stale embedded grant
/// is ignored — the unlock stands and the lock stays free for the lock service to grant.
/// </summary>
public sealed class LockHandOffTests : IDisposable
{
    private const string Name = "jobs/lock";
    private readonly KvStateMachine _machine = KvStateMachine.Open("/db", new FaultInjectingFileSystem());
    private long _clock = 1_000_000;

    public void Dispose() => _machine.Dispose();

    [Fact]
    public void AnUnlockWithTheNextWaitersGrantHandsTheLockOverInOneCommand()
    {
        LockEnqueueResult a = LockCommandTests.Enqueue(_machine, Name, lease: 1);
        Assert.True(Grant(a).Granted);
        LockEnqueueResult b = LockCommandTests.Enqueue(_machine, Name, lease: 2);
        LockEnqueueResult c = LockCommandTests.Enqueue(_machine, Name, lease: 3);
        long before = _machine.Store.CurrentRevision;

        object result = Unlock(a, next: b);

        Assert.IsType<UnlockResponse>(result);
        Assert.Equal(before + 1, _machine.Store.CurrentRevision);
        (KeyValue? holder, LockGrantRecord? record) = LockTable.ReadHolder(_machine.Store, ByteString.CopyFromUtf8(Name).Span);
        Assert.NotNull(holder);
        Assert.Equal(b.Key, holder.Key);
        Assert.Equal(b.CreateRevision, record!.Token);
        Assert.Equal(0, record.ExpiredAtUnixMs);
        Assert.Null(_machine.Store.Get(a.Key.ToByteArray(), _machine.Store.CurrentRevision));
        Assert.False(Grant(c).Granted);
    }

    [Fact]
    public void AnEmbeddedGrantForAWaiterThatIsGoneIsIgnoredAndTheLockStaysFree()
    {
        LockEnqueueResult a = LockCommandTests.Enqueue(_machine, Name, lease: 1);
        Assert.True(Grant(a).Granted);
        LockEnqueueResult b = LockCommandTests.Enqueue(_machine, Name, lease: 2);
        LockEnqueueResult c = LockCommandTests.Enqueue(_machine, Name, lease: 3);
        Assert.IsType<UnlockResponse>(Apply(new KvCommand { LockUnlock = new LockUnlock { Key = b.Key } }));

        object result = Unlock(a, next: b);

        Assert.IsType<UnlockResponse>(result);
        Assert.Null(_machine.Store.Get(a.Key.ToByteArray(), _machine.Store.CurrentRevision));
        Assert.Null(LockTable.ReadHolder(_machine.Store, ByteString.CopyFromUtf8(Name).Span).Holder);
        Assert.True(Grant(c).Granted);
    }

    [Fact]
    public void AnEmbeddedGrantForAWaiterThatIsNotFirstIsIgnoredAndTheFirstIsGrantedLater()
    {
        LockEnqueueResult a = LockCommandTests.Enqueue(_machine, Name, lease: 1);
        Assert.True(Grant(a).Granted);
        LockEnqueueResult b = LockCommandTests.Enqueue(_machine, Name, lease: 2);
        LockEnqueueResult c = LockCommandTests.Enqueue(_machine, Name, lease: 3);

        object result = Unlock(a, next: c);

        Assert.IsType<UnlockResponse>(result);
        Assert.Null(LockTable.ReadHolder(_machine.Store, ByteString.CopyFromUtf8(Name).Span).Holder);
        Assert.True(Grant(b).Granted);
    }

    [Fact]
    public void AnEmbeddedGrantOnAnUnlockThatFreesNothingIsIgnored()
    {
        LockEnqueueResult a = LockCommandTests.Enqueue(_machine, Name, lease: 1);
        Assert.True(Grant(a).Granted);
        LockEnqueueResult b = LockCommandTests.Enqueue(_machine, Name, lease: 2);
        LockEnqueueResult c = LockCommandTests.Enqueue(_machine, Name, lease: 3);

        // B gives up waiting while A still holds: the lock is not free, so C is not granted.
        object result = Unlock(b, next: c);

        Assert.IsType<UnlockResponse>(result);
        (KeyValue? holder, _) = LockTable.ReadHolder(_machine.Store, ByteString.CopyFromUtf8(Name).Span);
        Assert.Equal(a.Key, holder!.Key);
    }

    private object Unlock(LockEnqueueResult waiter, LockEnqueueResult next) => Apply(new KvCommand
    {
        LockUnlock = new LockUnlock
        {
            Key = waiter.Key,
            Next = new LockGrant { Name = ByteString.CopyFromUtf8(Name), Key = next.Key, CreateRevision = next.CreateRevision },
        },
    });

    private LockGrantResult Grant(LockEnqueueResult waiter) => Assert.IsType<LockGrantResult>(Apply(new KvCommand
    {
        LockGrant = new LockGrant { Name = ByteString.CopyFromUtf8(Name), Key = waiter.Key, CreateRevision = waiter.CreateRevision },
    }));

    private object Apply(KvCommand command)
    {
        command.IssuedAtUnixMs = _clock += 10;
        return _machine.ApplyCommand(command);
    }
}
