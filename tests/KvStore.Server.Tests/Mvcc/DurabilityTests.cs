using KvStore.Raft.Core;
using KvStore.Server.Mvcc;
using KvStore.Storage.IO;

namespace KvStore.Server.Tests.Mvcc;

/// <summary>
/// Crash recovery under Raft (LSM WAL off): after a power loss the store holds exactly the first
/// AppliedIndex commands — never half a command — and replaying the log from there reaches the
/// same state and answers as a run without the crash.
/// </summary>
public sealed class DurabilityTests
{
    private const int LogLength = 220;

    [Fact]
    public void CrashLeavesExactlyTheAppliedPrefixAndReplayConverges() => ModelSeeds.Run(4, RunSeed);

    [Fact]
    public void ReplayingAlreadyAppliedEntriesChangesNothing()
    {
        List<Entry> log = KvCommands.RandomLog(new Random(5), 80);
        using KvStateMachine machine = KvStateMachine.Open("/db", new FaultInjectingFileSystem());
        machine.Apply(log);
        List<string> before = KvCommands.Dump(machine.Store);

        IReadOnlyList<object?> again = machine.Apply(log);

        Assert.Equal(before, KvCommands.Dump(machine.Store));
        Assert.Equal(80, machine.AppliedIndex);
        Assert.All(again, Assert.Null);
    }

    [Fact]
    public void StatusCountsDataStillInTheMemtableAndDataFlushedToTables()
    {
        using KvStateMachine machine = KvStateMachine.Open("/db", new FaultInjectingFileSystem());
        Assert.Equal(0, machine.GetStatus().DataSizeBytes);

        machine.Apply([KvCommands.Entry(1, KvCommands.Put("a", new string('v', 1000)))]);
        long inMemtable = machine.GetStatus().DataSizeBytes;
        machine.Store.Database.Flush();
        long inTables = machine.GetStatus().DataSizeBytes;

        Assert.True(inMemtable >= 1000, $"status reports {inMemtable} bytes for a 1,000-byte value in the memtable");
        Assert.True(inTables > 0, "status reports 0 bytes after a flush");
    }

    [Fact]
    public void GapInTheLogIsAHostBugAndThrows()
    {
        using KvStateMachine machine = KvStateMachine.Open("/db", new FaultInjectingFileSystem());
        machine.Apply([KvCommands.Entry(1, KvCommands.Put("a", "1"))]);

        Assert.Throws<InvalidOperationException>(() => machine.Apply([KvCommands.Entry(3, KvCommands.Put("a", "2"))]));
        Assert.Equal(1, machine.AppliedIndex);
    }

    [Fact]
    public void StoreWhoseKeyCountDisagreesWithItsVersionsRefusesToOpen()
    {
        var fs = new FaultInjectingFileSystem();
        using (KvStateMachine machine = KvStateMachine.Open("/db", fs))
        {
            machine.ApplyCommand(KvCommands.Put("a", "1"));
            machine.ApplyCommand(KvCommands.Put("b", "1"));
            machine.Store.Database.Put(MvccKeys.KeyCountKey, MvccKeys.Int64Value(5));
        }

        var e = Assert.Throws<InvalidDataException>(() => KvStateMachine.Open("/db", fs));
        Assert.Contains("counts 5 live keys but its versions hold 2", e.Message);
    }

    private static void RunSeed(int seed)
    {
        var random = new Random(seed);
        List<Entry> log = KvCommands.RandomLog(random, LogLength);
        (List<object?> expectedResults, List<string> expectedFinal) = RunWithoutCrash(log);

        var fs = new FaultInjectingFileSystem();
        var lsm = MvccStore.LsmOptionsFor(fs) with { MemtableSizeBytes = 4 << 10 };
        int crashAfter = random.Next(20, LogLength);
        MvccStore store = MvccStore.Open("/db", lsm);
        var machine = new KvStateMachine(store);
        for (int i = 0; i < crashAfter; i++)
        {
            machine.Apply([log[i]]);
            if (random.Next(25) == 0)
            {
                store.Database.Flush();
            }
        }

        fs.Crash();
        store.Dispose();

        store = MvccStore.Open("/db", lsm);
        machine = new KvStateMachine(store);
        long applied = machine.AppliedIndex;
        Assert.InRange(applied, 0, crashAfter);
        Assert.Equal(RunWithoutCrash(log.Take((int)applied).ToList()).Dump, KvCommands.Dump(store));

        // The host replays its log from the start of what it kept; applied entries are skipped.
        List<object?> replayed = machine.Apply(log).ToList();
        Assert.Equal(expectedFinal, KvCommands.Dump(store));
        Assert.Equal(LogLength, machine.AppliedIndex);
        List<object?> expectedTail = NormalResults(log, expectedResults, from: applied + 1);
        Assert.Equal(expectedTail, NormalResults(log, replayed, from: applied + 1));
        store.Dispose();
    }

    [Fact]
    public void ACrashKeepsWholeApplyCallsOnly() => ModelSeeds.Run(4, seed =>
    {
        // The host applies committed entries in batches; each Apply call writes inside one LSM write scope, so
        // the small memtable is never switched in the middle of a call and a crash cuts only between calls.
        var random = new Random(seed);
        List<Entry> log = KvCommands.RandomLog(random, LogLength);
        var fs = new FaultInjectingFileSystem();
        var lsm = MvccStore.LsmOptionsFor(fs) with { MemtableSizeBytes = 4 << 10 };
        MvccStore store = MvccStore.Open("/db", lsm);
        var machine = new KvStateMachine(store);
        var callEnds = new HashSet<long> { 0 };
        int next = 0;
        while (next < LogLength)
        {
            int count = Math.Min(random.Next(1, 40), LogLength - next);
            machine.Apply(log.GetRange(next, count));
            next += count;
            callEnds.Add(next);
        }

        fs.Crash();
        store.Dispose();

        store = MvccStore.Open("/db", lsm);
        machine = new KvStateMachine(store);
        long applied = machine.AppliedIndex;
        Assert.True(callEnds.Contains(applied), $"seed {seed}: recovered applied index {applied} is inside an Apply call (call ends: {string.Join(',', callEnds.Order())})");
        Assert.True(applied > 0, $"seed {seed}: nothing was flushed, so the test proved nothing");
        Assert.Equal(RunWithoutCrash(log.Take((int)applied).ToList()).Dump, KvCommands.Dump(store));
        store.Dispose();
    });

    private static (List<object?> Results, List<string> Dump) RunWithoutCrash(List<Entry> log)
    {
        using KvStateMachine machine = KvStateMachine.Open("/ref", new FaultInjectingFileSystem());
        List<object?> results = machine.Apply(log).ToList();
        return (results, KvCommands.Dump(machine.Store));
    }

    /// <summary>The results of Normal entries with index ≥ <paramref name="from"/> (results are one per Normal entry).</summary>
    private static List<object?> NormalResults(List<Entry> log, List<object?> results, long from)
    {
        var selected = new List<object?>();
        int r = 0;
        foreach (Entry entry in log)
        {
            if (entry.Type != EntryType.Normal)
            {
                continue;
            }

            if (entry.Index >= from)
            {
                selected.Add(results[r]);
            }

            r++;
        }

        return selected;
    }
}
