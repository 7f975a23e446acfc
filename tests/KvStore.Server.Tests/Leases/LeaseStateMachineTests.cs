using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using KvStore.Raft.Core;
using KvStore.Server.Leases;
using KvStore.Server.Mvcc;
using KvStore.Server.Protos;
using KvStore.Server.Tests.Mvcc;
using KvStore.Storage.IO;

namespace KvStore.Server.Tests.Leases;

/// <summary>Lease commands applied through <see cref="KvStateMachine.ApplyCommand"/>: grants, attachments, revocation, checkpoints.</summary>
public sealed class LeaseStateMachineTests : IDisposable
{
    private readonly KvStateMachine _machine = KvStateMachine.Open("/db", new FaultInjectingFileSystem());

    public void Dispose() => _machine.Dispose();

    [Fact]
    public void RevokeDeletesEveryAttachedKeyInOneRevisionAndLeavesOthers()
    {
        long lease = Grant(10);
        Put("a", lease);
        Put("b", lease);
        Put("c", lease);
        Put("d", 0);
        long before = _machine.Store.CurrentRevision;

        var revoked = Assert.IsType<LeaseRevokeResponse>(_machine.ApplyCommand(Revoke(lease, expired: false, at: 9_000)));

        Assert.Equal(before + 1, revoked.Header.Revision);
        IReadOnlyList<MvccEvent> events = _machine.Store.ReadEvents(before + 1, before + 1);
        Assert.Equal(["a", "b", "c"], events.Select(e => e.Kv.Key.ToStringUtf8()));
        Assert.All(events, e => Assert.Equal(MvccEventType.Delete, e.Type));
        Assert.Equal(["d"], Keys());
        Assert.Equal(1, _machine.Store.State.KeyCount);
        Assert.False(_machine.Leases.Exists(lease));
        Assert.Empty(_machine.Leases.AttachedKeys(lease));
        Assert.True(_machine.Leases.TryGetEnd(lease, out bool expired, out long endedAt));
        Assert.False(expired);
        Assert.Equal(9_000, endedAt);
    }

    [Fact]
    public void RevokingALeaseWithoutKeysBumpsNoRevision()
    {
        long lease = Grant(10);
        Put("x", 0);

        var revoked = Assert.IsType<LeaseRevokeResponse>(_machine.ApplyCommand(Revoke(lease, expired: true, at: 1)));

        Assert.Equal(1, revoked.Header.Revision);
        Assert.Equal(1, _machine.Store.CurrentRevision);
    }

    [Fact]
    public void ABatchedExpiryEndsEveryLiveLeaseInOneRevisionAndSkipsEndedOnes()
    {
        long first = Grant(10);
        long second = Grant(10);
        long revoked = Grant(10);
        Put("a", first);
        Put("b", second);
        Put("c", revoked);
        _machine.ApplyCommand(Revoke(revoked, expired: false, at: 1));
        long before = _machine.Store.CurrentRevision;
        var command = new LeaseExpireCommand();
        command.Ids.AddRange([first, second, revoked, 404, first]);

        var result = Assert.IsType<LeaseExpireResult>(_machine.ApplyCommand(new KvCommand { IssuedAtUnixMs = 7_000, LeaseExpire = command }));

        Assert.Equal(2, result.Expired);
        Assert.Equal(before + 1, result.Header.Revision);
        Assert.Equal(["a", "b"], _machine.Store.ReadEvents(before + 1, before + 1).Select(e => e.Kv.Key.ToStringUtf8()));
        Assert.Empty(Keys());
        Assert.True(_machine.Leases.TryGetEnd(second, out bool expired, out long at));
        Assert.True(expired);
        Assert.Equal(7_000, at);
        Assert.True(_machine.Leases.TryGetEnd(revoked, out bool revokedExpired, out _));
        Assert.False(revokedExpired);
    }

    [Fact]
    public void RecordsOfLongEndedLeasesAreDroppedAndRecentOnesKept()
    {
        long old = Grant(10, at: 1_000);
        long recent = Grant(10, at: 1_000);
        long live = Grant(10, at: 1_000);
        _machine.ApplyCommand(Revoke(old, expired: true, at: 2_000));
        _machine.ApplyCommand(Revoke(recent, expired: true, at: 3_000_000));
        var command = new LeaseForgetCommand();
        command.Ids.AddRange([old, recent, live]);

        long hourAfterOld = 2_000 + (long)TimeSpan.FromHours(1).TotalMilliseconds;
        var result = Assert.IsType<LeaseForgetResult>(_machine.ApplyCommand(new KvCommand { IssuedAtUnixMs = hourAfterOld, LeaseForget = command }));

        Assert.Equal(1, result.Forgotten);
        Assert.Null(_machine.Leases.Find(old));
        Assert.True(_machine.Leases.TryGetEnd(recent, out _, out _));
        Assert.True(_machine.Leases.Exists(live));
        Assert.NotEqual(old, Grant(10, at: hourAfterOld));
    }

    [Fact]
    public void ExpiryIsRecordedWithTheClockOfTheRevocation()
    {
        long lease = Grant(10, at: 1_000);
        _machine.ApplyCommand(Revoke(lease, expired: true, at: 12_000));

        Assert.True(_machine.Leases.TryGetEnd(lease, out bool expired, out long endedAt));
        Assert.True(expired);
        Assert.Equal(12_000, endedAt);
        Assert.Equal(LeaseState.Expired, _machine.Leases.Find(lease)!.Value.State);
    }

    [Fact]
    public void PutNamingAnUnknownLeaseIsRefusedWithTheId()
    {
        var error = Assert.IsType<Error>(_machine.ApplyCommand(PutCommand("k", 42)));

        Assert.Equal(ErrorCode.LeaseNotFound, error.Code);
        Assert.Contains("lease 42", error.Message);
        Assert.Equal(0, _machine.Store.CurrentRevision);
    }

    [Fact]
    public void PutNamingARevokedLeaseIsRefused()
    {
        long lease = Grant(10);
        _machine.ApplyCommand(Revoke(lease, expired: false, at: 1));

        var error = Assert.IsType<Error>(_machine.ApplyCommand(PutCommand("k", lease)));

        Assert.Equal(ErrorCode.LeaseNotFound, error.Code);
        Assert.Empty(Keys());
    }

    [Fact]
    public void TxnWithAPutNamingAnUnknownLeaseAppliesNothing()
    {
        long lease = Grant(10);
        var txn = new TxnRequest();
        txn.Success.Add(new RequestOp { RequestPut = PutRequestFor("good", lease) });
        txn.Success.Add(new RequestOp { RequestPut = PutRequestFor("bad", lease + 100) });

        var error = Assert.IsType<Error>(_machine.ApplyCommand(new KvCommand { Txn = txn }));

        Assert.Equal(ErrorCode.LeaseNotFound, error.Code);
        Assert.Empty(Keys());
        Assert.Empty(_machine.Leases.AttachedKeys(lease));
    }

    [Fact]
    public void PutsMoveAKeyBetweenLeasesAndDeletesDetachIt()
    {
        long first = Grant(10);
        long second = Grant(10);
        Put("k", first);
        Put("k", second);
        Assert.Empty(_machine.Leases.AttachedKeys(first));
        Assert.Equal(["k"], _machine.Leases.AttachedKeys(second).Select(ByteString.CopyFrom).Select(b => b.ToStringUtf8()));

        // ignore_lease keeps the key on its lease.
        _machine.ApplyCommand(new KvCommand { Put = new PutRequest { Key = ByteString.CopyFromUtf8("k"), Value = ByteString.CopyFromUtf8("v2"), IgnoreLease = true } });
        Assert.Single(_machine.Leases.AttachedKeys(second));

        // Revoking the lease the key left does not touch it.
        _machine.ApplyCommand(Revoke(first, expired: false, at: 1));
        Assert.Equal(["k"], Keys());

        _machine.ApplyCommand(new KvCommand { DeleteRange = new DeleteRangeRequest { Key = ByteString.CopyFromUtf8("k") } });
        Assert.Empty(_machine.Leases.AttachedKeys(second));

        // Put back without a lease: the second lease's revocation leaves it alone.
        Put("k", 0);
        _machine.ApplyCommand(Revoke(second, expired: true, at: 2));
        Assert.Equal(["k"], Keys());
    }

    [Fact]
    public void TxnPutsAttachAndTxnDeletesDetach()
    {
        long lease = Grant(10);
        Put("old", lease);
        var txn = new TxnRequest();
        txn.Success.Add(new RequestOp { RequestPut = PutRequestFor("new", lease) });
        txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = ByteString.CopyFromUtf8("old") } });

        Assert.IsType<TxnResponse>(_machine.ApplyCommand(new KvCommand { Txn = txn }));

        Assert.Equal(["new"], _machine.Leases.AttachedKeys(lease).Select(k => ByteString.CopyFrom(k).ToStringUtf8()));
        _machine.ApplyCommand(Revoke(lease, expired: true, at: 1));
        Assert.Empty(Keys());
    }

    [Fact]
    public void GrantBelowTheMinimumTtlIsRefusedNamingTheMinimum()
    {
        var error = Assert.IsType<Error>(_machine.ApplyCommand(new KvCommand { LeaseGrant = new LeaseGrantRequest { TtlSeconds = 2 } }));

        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Contains("minimum of 3s", error.Message);
        Assert.Empty(_machine.Leases.Live());
    }

    [Fact]
    public void GrantWithALiveIdIsRefusedAndChosenIdsSkipTakenOnes()
    {
        Assert.IsType<LeaseGrantResponse>(_machine.ApplyCommand(new KvCommand { LeaseGrant = new LeaseGrantRequest { Id = 2, TtlSeconds = 5 } }));
        var error = Assert.IsType<Error>(_machine.ApplyCommand(new KvCommand { LeaseGrant = new LeaseGrantRequest { Id = 2, TtlSeconds = 5 } }));
        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Contains("lease 2 already exists", error.Message);

        long first = Grant(5);
        long second = Grant(5);

        Assert.Equal(1, first);
        Assert.Equal(3, second);
        Assert.Equal([1L, 2L, 3L], _machine.Leases.Live().Select(l => l.Id));
    }

    [Fact]
    public void ChosenIdsNeverReuseAnEndedLeasesRecord()
    {
        long first = Grant(5);
        _machine.ApplyCommand(Revoke(first, expired: true, at: 100));

        long second = Grant(5);

        Assert.NotEqual(first, second);
        Assert.True(_machine.Leases.TryGetEnd(first, out bool expired, out _));
        Assert.True(expired);
    }

    [Fact]
    public void CheckpointsRecordRemainingClampedToTheGrantAndSkipEndedLeases()
    {
        long live = Grant(10, at: 1_000);
        long gone = Grant(10, at: 1_000);
        long other = Grant(10, at: 1_000);
        _machine.ApplyCommand(Revoke(gone, expired: true, at: 2_000));
        var command = new LeaseCheckpointCommand();
        command.Checkpoints.Add(new LeaseCheckpoint { Id = live, RemainingMs = 4_500 });
        command.Checkpoints.Add(new LeaseCheckpoint { Id = gone, RemainingMs = 4_500 });
        command.Checkpoints.Add(new LeaseCheckpoint { Id = other, RemainingMs = 99_000 });
        command.Checkpoints.Add(new LeaseCheckpoint { Id = 777, RemainingMs = 1 });

        var result = Assert.IsType<LeaseCheckpointResult>(_machine.ApplyCommand(new KvCommand { IssuedAtUnixMs = 3_000, LeaseCheckpoint = command }));

        Assert.Equal(2, result.Applied);
        Assert.Equal(new LeaseRecord(LeaseState.Live, 10, 4_500, 3_000), _machine.Leases.Find(live));
        Assert.Equal(10_000, _machine.Leases.CheckpointedRemainingMs(other));
        Assert.Null(_machine.Leases.CheckpointedRemainingMs(gone));
        Assert.Equal(LeaseState.Expired, _machine.Leases.Find(gone)!.Value.State);
        Assert.Equal(0, _machine.Store.CurrentRevision);
    }

    [Fact]
    public void RevokingAnEndedOrUnknownLeaseIsLeaseNotFound()
    {
        long lease = Grant(10);
        _machine.ApplyCommand(Revoke(lease, expired: true, at: 1));

        Assert.Equal(ErrorCode.LeaseNotFound, Assert.IsType<Error>(_machine.ApplyCommand(Revoke(lease, expired: false, at: 2))).Code);
        Assert.Equal(ErrorCode.LeaseNotFound, Assert.IsType<Error>(_machine.ApplyCommand(Revoke(99, expired: true, at: 2))).Code);
        Assert.True(_machine.Leases.TryGetEnd(lease, out bool expired, out long at));
        Assert.True(expired);
        Assert.Equal(1, at);
    }

    [Fact]
    public void LeaseChangesAreReportedAfterCommit()
    {
        var changes = new List<(LeaseChange Change, bool Visible)>();
        _machine.LeaseChanged += change => changes.Add((change, _machine.Leases.Find(change.Id) is { } r && (r.IsLive != (change.Kind == LeaseChangeKind.Ended))));

        long lease = Grant(7);
        var checkpoint = new LeaseCheckpointCommand();
        checkpoint.Checkpoints.Add(new LeaseCheckpoint { Id = lease, RemainingMs = 3_000 });
        _machine.ApplyCommand(new KvCommand { LeaseCheckpoint = checkpoint });
        _machine.ApplyCommand(Revoke(lease, expired: true, at: 5));
        _machine.ApplyCommand(Revoke(lease, expired: true, at: 6));

        Assert.Equal(
            [
                new LeaseChange(lease, LeaseChangeKind.Granted, 7, 7_000, false),
                new LeaseChange(lease, LeaseChangeKind.Checkpointed, 7, 3_000, false),
                new LeaseChange(lease, LeaseChangeKind.Ended, 7, 0, true),
            ],
            changes.Select(c => c.Change));
        Assert.All(changes, c => Assert.True(c.Visible));
    }

    [Fact]
    public void LeasesAndAttachmentsTravelInSnapshots()
    {
        long kept = Grant(10, at: 1_000);
        long ended = Grant(10, at: 1_000);
        Put("a", kept);
        Put("b", kept);
        _machine.ApplyCommand(Revoke(ended, expired: true, at: 4_000));
        ReadOnlyMemory<byte> data = _machine.TakeSnapshot();

        using KvStateMachine target = KvStateMachine.Open("/target", new FaultInjectingFileSystem());
        target.Restore(new Snapshot(new SnapshotMetadata(_machine.AppliedIndex, 1, new ConfState()), data));

        Assert.Equal(_machine.Leases.Live().ToList(), target.Leases.Live().ToList());
        Assert.True(target.Leases.TryGetEnd(ended, out bool expired, out long at));
        Assert.True(expired);
        Assert.Equal(4_000, at);
        Assert.Equal(2, target.Leases.AttachedKeys(kept).Count);

        // The restored replica revokes exactly as the source does.
        KvCommand revoke = Revoke(kept, expired: false, at: 5_000);
        Assert.Equal(_machine.ApplyCommand(revoke), target.ApplyCommand(revoke));
        Assert.Equal(KvCommands.Dump(_machine.Store), KvCommands.Dump(target.Store));
        Assert.Equal(0, target.Store.State.KeyCount);
    }

    private long Grant(long ttlSeconds, long at = 0) =>
        Assert.IsType<LeaseGrantResponse>(_machine.ApplyCommand(new KvCommand { IssuedAtUnixMs = at, LeaseGrant = new LeaseGrantRequest { TtlSeconds = ttlSeconds } })).Id;

    private static KvCommand Revoke(long lease, bool expired, long at) =>
        new() { IssuedAtUnixMs = at, LeaseRevoke = new LeaseRevokeCommand { Id = lease, Expired = expired } };

    private void Put(string key, long lease) => Assert.IsType<PutResponse>(_machine.ApplyCommand(PutCommand(key, lease)));

    private static KvCommand PutCommand(string key, long lease) => new() { Put = PutRequestFor(key, lease) };

    private static PutRequest PutRequestFor(string key, long lease) =>
        new() { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8("v"), Lease = lease };

    private List<string> Keys() =>
        _machine.Store.Range(new RangeRequest { Key = ByteString.CopyFrom(0), RangeEnd = ByteString.CopyFrom(0) }).Kvs.Select(kv => kv.Key.ToStringUtf8()).ToList();
}
