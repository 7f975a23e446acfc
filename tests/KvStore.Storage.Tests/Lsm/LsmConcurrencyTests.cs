using System.Text;
using KvStore.Storage.IO;
using KvStore.Storage.Lsm;

namespace KvStore.Storage.Tests.Lsm;

/// <summary>Readers running while writers, flushes and compactions change the tables underneath them.</summary>
public sealed class LsmConcurrencyTests
{
    private const int Accounts = 20;

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void Iterators_and_snapshot_reads_see_whole_batches_during_background_compaction()
    {
        var fs = new FaultInjectingFileSystem();
        var options = LsmDatabaseTests.SmallOptions(fs) with { MemtableSizeBytes = 2048, TargetFileSize = 2048 };
        using var db = LsmDatabase.Open("/db", options);
        WriteRound(db, 0);

        // Each batch sets every account to the same round number; a reader seeing two different
        // rounds (or a missing account) saw a half-applied batch or a torn version switch.
        int rounds = 0;
        var failures = new List<string>();
        using var stop = new CancellationTokenSource();
        var writer = new Thread(() =>
        {
            for (int round = 1; round <= 400; round++)
            {
                WriteRound(db, round);
                Volatile.Write(ref rounds, round);
            }

            stop.Cancel();
        });
        var readers = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            var rng = new Random(r);
            while (!stop.IsCancellationRequested)
            {
                string? problem = rng.Next(3) switch
                {
                    0 => CheckIterator(db, null, reverse: rng.Next(2) == 0),
                    1 => CheckSnapshotIterator(db),
                    _ => CheckSnapshotGets(db),
                };
                if (problem != null)
                {
                    lock (failures)
                    {
                        failures.Add(problem);
                    }

                    return;
                }
            }
        })).ToList();

        writer.Start();
        readers.ForEach(t => t.Start());
        writer.Join();
        readers.ForEach(t => t.Join());

        Assert.Empty(failures);
        Assert.Equal(400, rounds);
        LsmStatistics stats = db.GetStatistics();
        Assert.True(stats.Flushes > 10 && stats.Compactions > 0, $"flushes {stats.Flushes}, compactions {stats.Compactions}: too little background work to test against");
    }

    private static void WriteRound(LsmDatabase db, int round)
    {
        var batch = new WriteBatch();
        for (int a = 0; a < Accounts; a++)
        {
            batch.Put(B($"account{a:D2}"), B($"round{round:D4}-" + new string('p', 20)));
        }

        db.Write(batch);
    }

    private static string? CheckIterator(LsmDatabase db, LsmSnapshot? snapshot, bool reverse)
    {
        using LsmIterator it = db.NewIterator(new ReadOptions { Snapshot = snapshot });
        var values = new List<string>();
        if (reverse)
        {
            for (it.SeekToLast(); it.Valid; it.Prev())
            {
                values.Add(Encoding.UTF8.GetString(it.Value));
            }
        }
        else
        {
            for (it.SeekToFirst(); it.Valid; it.Next())
            {
                values.Add(Encoding.UTF8.GetString(it.Value));
            }
        }

        return values.Count == Accounts && values.Distinct().Count() == 1
            ? null
            : $"iterator (reverse {reverse}) saw {values.Count} accounts with values {string.Join(",", values.Distinct())}";
    }

    private static string? CheckSnapshotIterator(LsmDatabase db)
    {
        using LsmSnapshot snapshot = db.GetSnapshot();
        string? first = CheckIterator(db, snapshot, reverse: false);
        Thread.Yield();
        return first ?? CheckIterator(db, snapshot, reverse: true);
    }

    private static string? CheckSnapshotGets(LsmDatabase db)
    {
        using LsmSnapshot snapshot = db.GetSnapshot();
        string? seen = null;
        for (int a = 0; a < Accounts; a++)
        {
            if (!db.TryGet(B($"account{a:D2}"), out byte[] v, snapshot))
            {
                return $"account{a:D2} missing at snapshot {snapshot.Sequence}";
            }

            string value = Encoding.UTF8.GetString(v);
            if (seen != null && seen != value)
            {
                return $"snapshot {snapshot.Sequence} saw {seen} and {value}";
            }

            seen = value;
        }

        return null;
    }
}
