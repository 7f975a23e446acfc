using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using KvStore.Raft.Core;
using KvStore.Server.Locks;
using KvStore.Server.Mvcc;
using KvStore.Server.Protos;
using KvStore.Storage.IO;

namespace KvStore.Server.Tests.Locks;

/// <summary>
/// Locks in the replicated state, driven through <see cref="KvStateMachine.ApplyCommand"/>:
/// enqueue, explicit grant, unlock, and the FENCE compare that makes the store refuse a stale
/// holder's writes.
/// </summary>
public sealed class LockCommandTests : IDisposable
{
    private const string Name = "jobs/lock";
    private readonly KvStateMachine _machine = KvStateMachine.Open("/db", new FaultInjectingFileSystem());
    private long _clock = 1_000_000;

    public void Dispose() => _machine.Dispose();

    [Fact]
    public void EnqueuePutsTheWaiterKeyWithTheLeaseOnceAndRepeatsAnswerTheSameKey()
    {
        LockEnqueueResult first = Enqueue(_machine, Name, lease: 0x2a);
        LockEnqueueResult again = Enqueue(_machine, Name, lease: 0x2a);

        Assert.Equal("jobs/lock/000000000000002a", first.Key.ToStringUtf8());
        Assert.True(first.Created);
        Assert.False(again.Created);
        Assert.Equal(first.CreateRevision, again.CreateRevision);
        KeyValue stored = _machine.Store.Get(first.Key.ToByteArray(), _machine.Store.CurrentRevision)!;
        Assert.Equal(0x2a, stored.Lease);
        Assert.Equal(1, _machine.Store.CurrentRevision);
    }

    [Fact]
    public void GrantGivesTheWaiterItsCreateRevisionAsTokenAndRefusesASecondHolder()
    {
        LockEnqueueResult a = Enqueue(_machine, Name, lease: 1);
        LockEnqueueResult b = Enqueue(_machine, Name, lease: 2);

        LockGrantResult grantA = Grant(_machine, a);
        LockGrantResult grantB = Grant(_machine, b);

        Assert.True(grantA.Granted);
        Assert.Equal(a.CreateRevision, grantA.FencingToken);
        Assert.False(grantB.Granted);
        Assert.Contains("is held by", grantB.Reason);
        Assert.True(FencedPut(_machine, Name, a.CreateRevision, "x", "from a").Succeeded);
        Assert.False(FencedPut(_machine, Name, b.CreateRevision, "x", "from b").Succeeded);
    }

    [Fact]
    public void AStaleHoldersFencedWritesAreRefusedOnceTheLockMovedOn()
    {
        LockEnqueueResult a = Enqueue(_machine, Name, lease: 1);
        Grant(_machine, a);
        LockEnqueueResult b = Enqueue(_machine, Name, lease: 2);
        Assert.True(FencedPut(_machine, Name, a.CreateRevision, "counter", "1").Succeeded);

        // A's lease ends (its key goes, as a lease revocation deletes it) and B is granted.
        Apply(_machine, new KvCommand { LockUnlock = new LockUnlock { Key = a.Key } });
        Assert.False(FencedPut(_machine, Name, a.CreateRevision, "counter", "stale, lock free").Succeeded);
        Assert.True(Grant(_machine, b).Granted);

        TxnResponse stale = FencedPut(_machine, Name, a.CreateRevision, "counter", "stale");
        TxnResponse current = FencedPut(_machine, Name, b.CreateRevision, "counter", "2");

        Assert.False(stale.Succeeded);
        Assert.True(current.Succeeded);
        Assert.Equal("2", _machine.Store.Get("counter"u8.ToArray(), _machine.Store.CurrentRevision)!.Value.ToStringUtf8());
    }

    [Fact]
    public void FenceComparesTheCurrentTokenLikeANumberAndAFreeLockHasTokenZero()
    {
        Assert.True(Txn(_machine, Fence(Name, 0, Compare.Types.CompareResult.Equal)).Succeeded);
        LockEnqueueResult a = Enqueue(_machine, Name, lease: 1);
        Grant(_machine, a);
        long token = a.CreateRevision;

        Assert.True(Txn(_machine, Fence(Name, token, Compare.Types.CompareResult.Equal)).Succeeded);
        Assert.True(Txn(_machine, Fence(Name, token - 1, Compare.Types.CompareResult.Greater)).Succeeded);
        Assert.True(Txn(_machine, Fence(Name, token + 1, Compare.Types.CompareResult.Less)).Succeeded);
        Assert.True(Txn(_machine, Fence(Name, token + 1, Compare.Types.CompareResult.NotEqual)).Succeeded);
        Assert.False(Txn(_machine, Fence(Name, token, Compare.Types.CompareResult.NotEqual)).Succeeded);
        Assert.False(Txn(_machine, Fence("other", token, Compare.Types.CompareResult.Equal)).Succeeded);
    }

    [Fact]
    public void TokensGrowStrictlyPerNameAndAnOlderWaiterIsNeverGrantedAfterAYoungerOne()
    {
        LockEnqueueResult old = Enqueue(_machine, Name, lease: 1);
        LockEnqueueResult young = Enqueue(_machine, Name, lease: 2);
        Assert.True(Grant(_machine, young).Granted);
        Apply(_machine, new KvCommand { LockUnlock = new LockUnlock { Key = young.Key } });

        LockGrantResult late = Grant(_machine, old);

        Assert.False(late.Granted);
        Assert.Contains("would not grow", late.Reason);
        var tokens = new List<long>();
        for (int i = 0; i < 5; i++)
        {
            LockEnqueueResult w = Enqueue(_machine, Name, lease: 100 + i);
            Apply(_machine, KvCommandsPut("noise", i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.True(Grant(_machine, w).Granted);
            tokens.Add(w.CreateRevision);
            Apply(_machine, new KvCommand { LockUnlock = new LockUnlock { Key = w.Key } });
        }

        Assert.Equal(tokens.Order(), tokens);
        Assert.Equal(tokens.Count, tokens.Distinct().Count());
        Assert.True(tokens[0] > young.CreateRevision);
    }

    [Fact]
    public void AGrantForAWaiterThatWasRecreatedOrIsGoneIsRefused()
    {
        LockEnqueueResult first = Enqueue(_machine, Name, lease: 1);
        Apply(_machine, new KvCommand { LockUnlock = new LockUnlock { Key = first.Key } });
        LockEnqueueResult second = Enqueue(_machine, Name, lease: 1);

        LockGrantResult stale = Grant(_machine, first);

        Assert.False(stale.Granted);
        Assert.Contains("no longer exists", stale.Reason);
        Assert.Equal(first.Key, second.Key);
        Assert.True(Grant(_machine, second).Granted);
    }

    [Fact]
    public void GrantsAndTokensSurviveSnapshotRestoreAndCompaction()
    {
        LockEnqueueResult a = Enqueue(_machine, Name, lease: 1);
        Grant(_machine, a);
        for (int i = 0; i < 20; i++)
        {
            Apply(_machine, KvCommandsPut("noise", i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        Apply(_machine, new KvCommand { Compact = new CompactionRequest { Revision = _machine.Store.CurrentRevision } });
        Assert.True(FencedPut(_machine, Name, a.CreateRevision, "x", "after compaction").Succeeded);

        using KvStateMachine restored = KvStateMachine.Open("/restored", new FaultInjectingFileSystem());
        restored.Restore(new Snapshot(new SnapshotMetadata(_machine.AppliedIndex, 1, new ConfState()), _machine.TakeSnapshot()));

        Assert.True(FencedPut(restored, Name, a.CreateRevision, "x", "after restore").Succeeded);
        LockEnqueueResult b = Enqueue(restored, Name, lease: 2);
        Assert.False(Grant(restored, b).Granted);
        Apply(restored, new KvCommand { LockUnlock = new LockUnlock { Key = a.Key } });
        Assert.True(Grant(restored, b).Granted);
        Assert.True(b.CreateRevision > a.CreateRevision);
        Assert.False(FencedPut(restored, Name, a.CreateRevision, "x", "stale").Succeeded);
    }

    [Fact]
    public void AHolderDeletedByLeaseExpiryRecordsWhenSoLockDelayCanCountFromIt()
    {
        LockEnqueueResult a = Enqueue(_machine, Name, lease: 1);
        Grant(_machine, a, lockDelayMs: 5_000);

        Apply(_machine, new KvCommand { LeaseRevoke = new LeaseRevokeCommand { Id = 1, Expired = true } });

        LockGrantRecord record = LockTable.Read(_machine.Store, "jobs/lock"u8)!;
        Assert.Equal(_clock, record.ExpiredAtUnixMs);
        Assert.Equal(5_000, record.LockDelayMs);
        Assert.Null(LockTable.ReadHolder(_machine.Store, "jobs/lock"u8).Holder);
    }

    [Fact]
    public void AHolderExpiredInABatchExpiryAlsoRecordsItsExpiry()
    {
        LockEnqueueResult a = Enqueue(_machine, Name, lease: 1);
        Grant(_machine, a, lockDelayMs: 5_000);
        Enqueue(_machine, "other", lease: 2);

        Apply(_machine, new KvCommand { LeaseExpire = new LeaseExpireCommand { Ids = { 1, 2 } } });

        Assert.Equal(_clock, LockTable.Read(_machine.Store, "jobs/lock"u8)!.ExpiredAtUnixMs);
        Assert.Null(LockTable.ReadHolder(_machine.Store, "jobs/lock"u8).Holder);
        Assert.Equal(0, LockTable.Read(_machine.Store, "other"u8)!.ExpiredAtUnixMs);
    }

    [Fact]
    public void AClientRevokeOrUnlockFreesTheLockWithoutLockDelay()
    {
        LockEnqueueResult a = Enqueue(_machine, Name, lease: 1);
        Grant(_machine, a, lockDelayMs: 5_000);
        Apply(_machine, new KvCommand { LeaseRevoke = new LeaseRevokeCommand { Id = 1, Expired = false } });

        LockGrantRecord record = LockTable.Read(_machine.Store, "jobs/lock"u8)!;
        Assert.Equal(0, record.ExpiredAtUnixMs);
        Assert.Null(LockTable.ReadHolder(_machine.Store, "jobs/lock"u8).Holder);
        Assert.False(FencedPut(_machine, Name, a.CreateRevision, "x", "after revoke").Succeeded);
    }

    [Fact]
    public void AWaiterNeedsALiveLease()
    {
        object result = Apply(_machine, new KvCommand { LockEnqueue = new LockEnqueue { Name = ByteString.CopyFromUtf8(Name), Lease = 77 } });

        Assert.Equal(ErrorCode.LeaseNotFound, Assert.IsType<Error>(result).Code);
        Assert.Null(LockTable.Read(_machine.Store, "jobs/lock"u8));
    }

    [Fact]
    public void BadLockCommandsAreRefusedWithInvalidArgumentAndChangeNothing()
    {
        object noLease = Apply(_machine, new KvCommand { LockEnqueue = new LockEnqueue { Name = ByteString.CopyFromUtf8(Name) } });
        object notAWaiter = Apply(_machine, new KvCommand { LockUnlock = new LockUnlock { Key = ByteString.CopyFromUtf8("plain-key") } });
        object emptyName = Apply(_machine, new KvCommand { LockGrant = new LockGrant { Key = ByteString.CopyFromUtf8("a/0000000000000001"), CreateRevision = 1 } });

        Assert.Equal(ErrorCode.InvalidArgument, Assert.IsType<Error>(noLease).Code);
        Assert.Equal(ErrorCode.InvalidArgument, Assert.IsType<Error>(notAWaiter).Code);
        Assert.Equal(ErrorCode.InvalidArgument, Assert.IsType<Error>(emptyName).Code);
        Assert.Equal(0, _machine.Store.CurrentRevision);
    }

    /// <summary>Grants lease <paramref name="lease"/> (60 s) unless it exists, then enqueues a waiter with it.</summary>
    internal static LockEnqueueResult Enqueue(KvStateMachine machine, string name, long lease, string value = "")
    {
        if (!machine.Leases.Exists(lease))
        {
            Assert.IsType<LeaseGrantResponse>(machine.ApplyCommand(new KvCommand { LeaseGrant = new LeaseGrantRequest { Id = lease, TtlSeconds = 60 } }));
        }

        return Assert.IsType<LockEnqueueResult>(machine.ApplyCommand(new KvCommand
        {
            LockEnqueue = new LockEnqueue { Name = ByteString.CopyFromUtf8(name), Lease = lease, Value = ByteString.CopyFromUtf8(value) },
        }));
    }

    private LockGrantResult Grant(KvStateMachine machine, LockEnqueueResult waiter, long lockDelayMs = 0) =>
        Assert.IsType<LockGrantResult>(Apply(machine, new KvCommand
        {
            LockGrant = new LockGrant
            {
                Name = ByteString.CopyFromUtf8(Name),
                Key = waiter.Key,
                CreateRevision = waiter.CreateRevision,
                LockDelayMs = lockDelayMs,
            },
        }));

    private object Apply(KvStateMachine machine, KvCommand command)
    {
        command.IssuedAtUnixMs = _clock += 10;
        return machine.ApplyCommand(command);
    }

    private TxnResponse FencedPut(KvStateMachine machine, string name, long token, string key, string value) =>
        Txn(machine, Fence(name, token, Compare.Types.CompareResult.Equal), new RequestOp
        {
            RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value) },
        });

    private TxnResponse Txn(KvStateMachine machine, Compare compare, RequestOp? success = null)
    {
        var txn = new TxnRequest { Compare = { compare } };
        if (success is not null)
        {
            txn.Success.Add(success);
        }

        return Assert.IsType<TxnResponse>(Apply(machine, new KvCommand { Txn = txn }));
    }

    private static Compare Fence(string name, long token, Compare.Types.CompareResult result) => new()
    {
        Key = ByteString.CopyFromUtf8(name),
        Target = Compare.Types.CompareTarget.Fence,
        Result = result,
        FencingToken = token,
    };

    private static KvCommand KvCommandsPut(string key, string value) =>
        new() { Put = new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value) } };
}
