using KvStore.Storage.IO;
using KvStore.Storage.Log;

namespace KvStore.Storage.Tests.Log;

/// <summary>
/// Random mutations of many groups, random syncs, injected fsync failures and full disks, then a crash
/// (clean, torn, torn with garbage) and a reopen, checked against <see cref="RaftLogModel"/>:
/// what is recovered must be the state after some prefix of the mutations that includes every
/// mutation before the last completed Sync. 200 seeds by default; KVSTORE_MODEL_SEEDS raises it.
/// A failure names its seed; KVSTORE_MODEL_SEED=n reruns that seed alone.
/// </summary>
public sealed class SegmentedLogStoreCrashTests
{
    private const string Dir = "/node/raftlog";

    private static int SeedCount =>
        int.TryParse(Environment.GetEnvironmentVariable("KVSTORE_MODEL_SEEDS"), out int seeds) && seeds > 0 ? seeds : 200;

    [Fact]
    public void Random_mutations_recover_a_prefix_that_includes_every_sync_across_crashes()
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("KVSTORE_MODEL_SEED"), out int only))
        {
            RunSeed(only);
            return;
        }

        for (int seed = 0; seed < SeedCount; seed++)
        {
            RunSeed(seed);
        }
    }

    private static void RunSeed(int seed)
    {
        try
        {
            RunScenario(seed);
        }
        catch (Exception e) when (e is not SeedFailedException)
        {
            throw new SeedFailedException($"seed {seed} failed (replay: KVSTORE_MODEL_SEED={seed} dotnet test --filter SegmentedLogStoreCrashTests): {e.GetType().Name}: {e.Message}", e);
        }
    }

    private static void RunScenario(int seed)
    {
        var rng = new Random(seed);
        var fs = new FaultInjectingFileSystem();
        var options = new SegmentedLogStoreOptions { SegmentBytes = rng.Next(4096, 32768) };
        int groupCount = rng.Next(1, 9);
        var model = new RaftLogModel();
        for (int cycle = 0; cycle < 3; cycle++)
        {
            SegmentedLogStore store = SegmentedLogStore.Open(fs, Dir, options);
            string? afterOpen = RaftLogModel.ReadFrom(store).Difference(model);
            Assert.True(afterOpen is null, $"seed {seed} cycle {cycle}: reopened store differs from the recovered state: {afterOpen}");

            RaftLogModel synced = model.Clone();
            var pending = new List<RaftLogMutation>();
            int operations = rng.Next(20, 200);
            for (int op = 0; op < operations; op++)
            {
                int roll = rng.Next(100);
                if (roll < 12)
                {
                    bool failing = rng.Next(15) == 0;
                    if (failing)
                    {
                        fs.FailNextSyncs(1);
                    }

                    try
                    {
                        store.Sync();
                        fs.FailNextSyncs(0); // armed but unused when there was nothing to sync
                        synced = model.Clone();
                        pending.Clear();
                    }
                    catch (IOException) when (failing)
                    {
                        // The store is failed now: nothing more can be written; the crash decides what stays.
                        Assert.Throws<StorageException>(() => store.Append(1, [new LogEntry(model.LastIndex(1) + 1, 1, 0, new byte[1])]));
                        fs.FailNextSyncs(0);
                        break;
                    }

                    continue;
                }

                if (roll < 14)
                {
                    // A full disk for a while: mutations may fail, and must then change nothing.
                    fs.CapacityBytes = fs.UsedBytes + rng.Next(0, 3000);
                    continue;
                }

                if (roll < 17)
                {
                    fs.CapacityBytes = long.MaxValue;
                    continue;
                }

                RaftLogMutation mutation = RaftLogMutation.Random(rng, model, groupCount);
                try
                {
                    mutation.ApplyTo(store);
                }
                catch (OutOfSpaceException)
                {
                    string? afterFailure = RaftLogModel.ReadFrom(store).Difference(model);
                    Assert.True(afterFailure is null, $"seed {seed}: a mutation that ran out of space changed the store: {afterFailure}");
                    continue;
                }

                mutation.ApplyTo(model);
                pending.Add(mutation);
                if (rng.Next(50) == 0)
                {
                    string? live = RaftLogModel.ReadFrom(store).Difference(model);
                    Assert.True(live is null, $"seed {seed}: live store differs from the model: {live}");
                }
            }

            fs.CapacityBytes = long.MaxValue;
            CrashMode mode = (CrashMode)rng.Next(3);
            fs.Crash(mode, rng);
            store.Dispose();

            using SegmentedLogStore reopened = SegmentedLogStore.Open(fs, Dir, options);
            RaftLogModel recovered = RaftLogModel.ReadFrom(reopened);
            model = MatchPrefix(seed, cycle, mode, synced, pending, recovered);
        }
    }

    /// <summary>The state after the longest prefix of <paramref name="pending"/> that equals <paramref name="recovered"/>; fails if none does.</summary>
    private static RaftLogModel MatchPrefix(int seed, int cycle, CrashMode mode, RaftLogModel synced, List<RaftLogMutation> pending, RaftLogModel recovered)
    {
        RaftLogModel candidate = synced.Clone();
        RaftLogModel? match = candidate.Difference(recovered) is null ? candidate.Clone() : null;
        foreach (RaftLogMutation mutation in pending)
        {
            mutation.ApplyTo(candidate);
            if (candidate.Difference(recovered) is null)
            {
                match = candidate.Clone();
            }
        }

        Assert.True(match is not null,
            $"seed {seed} cycle {cycle} ({mode}): recovered state is no prefix of the {pending.Count} mutations after the last sync; "
            + $"vs synced: {synced.Difference(recovered)}; vs all: {candidate.Difference(recovered)}");
        return match!;
    }

    private sealed class SeedFailedException(string message, Exception inner) : Exception(message, inner);
}
