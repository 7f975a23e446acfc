using KvStore.Raft.Core;
using KvStore.Server.Mvcc;
using KvStore.Storage;
using KvStore.Storage.IO;

namespace KvStore.Server.Tests.Mvcc;

/// <summary>TakeSnapshot / Restore: a follower that installs a snapshot has the leader's state exactly.</summary>
public sealed class SnapshotTests
{
    [Fact]
    public void RestoreOnAFreshStoreGivesAnIdenticalStateAndAppliedIndex()
    {
        using KvStateMachine source = KvStateMachine.Open("/src", MvccStore.LsmOptionsFor(new FaultInjectingFileSystem()) with { MemtableSizeBytes = 4 << 10 });
        source.Apply(KvCommands.RandomLog(new Random(3), 250));
        ReadOnlyMemory<byte> data = source.TakeSnapshot();

        using KvStateMachine target = KvStateMachine.Open("/dst", new FaultInjectingFileSystem());
        target.Restore(SnapshotOf(source.AppliedIndex, data));

        Assert.Equal(KvCommands.Dump(source.Store), KvCommands.Dump(target.Store));
        Assert.Equal(source.AppliedIndex, target.AppliedIndex);
        Assert.Equal(source.Store.State, target.Store.State);
        // Both continue identically: the next command gets the same answer on each.
        var next = KvCommands.Put("after", "snapshot", client: 1, sequence: 1000, issuedAt: 9_000_000);
        Assert.Equal(source.ApplyCommand(next), target.ApplyCommand(next));
        Assert.Equal(KvCommands.Dump(source.Store), KvCommands.Dump(target.Store));
    }

    [Fact]
    public async Task ACapturedSnapshotIsTheStateAtCaptureEvenIfSerializedAfterLaterWrites()
    {
        // The Raft host captures on its loop and serializes on another thread while it keeps applying.
        using KvStateMachine source = KvStateMachine.Open("/src", new FaultInjectingFileSystem());
        source.Apply(KvCommands.RandomLog(new Random(5), 80));
        long capturedAt = source.AppliedIndex;
        List<string> expected = KvCommands.Dump(source.Store);
        Func<ReadOnlyMemory<byte>> serialize = source.CaptureSnapshot();

        for (int i = 0; i < 20; i++)
        {
            source.ApplyCommand(KvCommands.Put($"later-{i}", "x", client: 9, sequence: (ulong)i + 1, issuedAt: 9_000_000 + i));
        }

        ReadOnlyMemory<byte> data = await Task.Run(serialize);

        using KvStateMachine target = KvStateMachine.Open("/dst", new FaultInjectingFileSystem());
        target.Restore(SnapshotOf(capturedAt, data));
        Assert.Equal(capturedAt, target.AppliedIndex);
        Assert.Equal(expected, KvCommands.Dump(target.Store));
        Assert.NotEqual(expected, KvCommands.Dump(source.Store));
    }

    [Fact]
    public void SessionsTravelInTheSnapshot()
    {
        using KvStateMachine source = KvStateMachine.Open("/src", new FaultInjectingFileSystem());
        var put = KvCommands.Put("k", "v", client: 4, sequence: 2, issuedAt: 1_000);
        object first = source.ApplyCommand(put);
        using KvStateMachine target = KvStateMachine.Open("/dst", new FaultInjectingFileSystem());
        target.ApplyCommand(KvCommands.Put("other", "x", client: 4, sequence: 9, issuedAt: 500));

        target.Restore(SnapshotOf(source.AppliedIndex, source.TakeSnapshot()));

        // A retry that reaches the restored replica is answered from the session, not applied again.
        Assert.Equal(first, target.ApplyCommand(put));
        Assert.Equal(1, target.Store.CurrentRevision);
    }

    [Fact]
    public void RestoreReplacesEverythingTheTargetHad()
    {
        using KvStateMachine source = KvStateMachine.Open("/src", new FaultInjectingFileSystem());
        source.Apply(KvCommands.RandomLog(new Random(4), 60));
        using KvStateMachine target = KvStateMachine.Open("/dst", new FaultInjectingFileSystem());
        target.Apply(KvCommands.RandomLog(new Random(99), 40));

        target.Restore(SnapshotOf(source.AppliedIndex, source.TakeSnapshot()));

        Assert.Equal(KvCommands.Dump(source.Store), KvCommands.Dump(target.Store));
    }

    [Fact]
    public void RestoredStateSurvivesARestart()
    {
        using KvStateMachine source = KvStateMachine.Open("/src", new FaultInjectingFileSystem());
        source.Apply(KvCommands.RandomLog(new Random(6), 90));
        var fs = new FaultInjectingFileSystem();
        using (KvStateMachine target = KvStateMachine.Open("/dst", fs))
        {
            target.Restore(SnapshotOf(source.AppliedIndex, source.TakeSnapshot()));
        }

        using KvStateMachine reopened = KvStateMachine.Open("/dst", fs);
        Assert.Equal(source.AppliedIndex, reopened.AppliedIndex);
        Assert.Equal(KvCommands.Dump(source.Store), KvCommands.Dump(reopened.Store));
    }

    [Fact]
    public void CorruptedSnapshotIsRefusedAndLeavesTheStateUnchanged()
    {
        using KvStateMachine source = KvStateMachine.Open("/src", new FaultInjectingFileSystem());
        source.Apply(KvCommands.RandomLog(new Random(8), 60));
        byte[] good = source.TakeSnapshot().ToArray();
        using KvStateMachine target = KvStateMachine.Open("/dst", new FaultInjectingFileSystem());
        target.Apply(KvCommands.RandomLog(new Random(9), 30));
        List<string> before = KvCommands.Dump(target.Store);
        var random = new Random(1);

        for (int trial = 0; trial < 40; trial++)
        {
            byte[] bad = (byte[])good.Clone();
            if (trial % 4 == 0)
            {
                bad = bad[..random.Next(bad.Length)];
            }
            else
            {
                bad[random.Next(bad.Length)] ^= (byte)(1 << random.Next(8));
            }

            var e = Assert.Throws<StorageCorruptionException>(() => target.Restore(SnapshotOf(source.AppliedIndex, bad)));
            Assert.Contains($"snapshot at index {source.AppliedIndex}", e.Message);
            Assert.Equal(before, KvCommands.Dump(target.Store));
            Assert.Equal(30, target.AppliedIndex);
        }
    }

    [Fact]
    public void SnapshotOfAnotherIndexIsRefused()
    {
        using KvStateMachine source = KvStateMachine.Open("/src", new FaultInjectingFileSystem());
        source.Apply(KvCommands.RandomLog(new Random(8), 20));
        using KvStateMachine target = KvStateMachine.Open("/dst", new FaultInjectingFileSystem());

        Assert.Throws<StorageCorruptionException>(() => target.Restore(SnapshotOf(21, source.TakeSnapshot())));
        Assert.Equal(0, target.AppliedIndex);
    }

    [Fact]
    public void RestoreInterruptedByACrashReopensEmptyAtIndexZero()
    {
        var fs = new FaultInjectingFileSystem();
        using (KvStateMachine machine = KvStateMachine.Open("/db", fs))
        {
            machine.Apply(KvCommands.RandomLog(new Random(2), 30));
            // What ReplaceContents writes first; a crash before its last batch leaves it behind.
            machine.Store.Database.Put(MvccKeys.RestoringKey, MvccKeys.Int64Value(500));
        }

        using KvStateMachine reopened = KvStateMachine.Open("/db", fs);

        Assert.Equal(0, reopened.AppliedIndex);
        Assert.Equal(0, reopened.Store.CurrentRevision);
        Assert.Equal(["6D6170706C696564=0000000000000000"], KvCommands.Dump(reopened.Store));
    }

    private static Snapshot SnapshotOf(long index, ReadOnlyMemory<byte> data) =>
        new(new SnapshotMetadata(index, 1, new ConfState()), data);
}
