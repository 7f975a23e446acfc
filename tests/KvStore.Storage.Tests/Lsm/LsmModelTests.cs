using System.Text;
using KvStore.Storage.IO;
using KvStore.Storage.Lsm;
using KvStore.Storage.Lsm.Table;

namespace KvStore.Storage.Tests.Lsm;

/// <summary>
/// Long random sequences of puts, deletes, batches, reads, scans and snapshots against a sorted
/// dictionary, with memtables so small that flushes and compactions run all the time, clean
/// reopens and crashes (plain, torn and torn-with-garbage) on the fault-injecting file system.
/// After a crash the database must equal the reference as of some write between the last one
/// known durable (synced, flushed or closed) and the last one made: every synced write is there
/// and no batch is half applied. Some stretches run with a nearly full disk and failing fsyncs:
/// an operation that fails must change nothing, and everything works again once they end.
/// Even seeds run flushes and compactions inline on the test thread, so they replay exactly;
/// odd seeds run them on the background threads, concurrently with the test's reads and writes,
/// so their operations, crash points and faults replay but the table layout at a crash may differ.
/// </summary>
public sealed class LsmModelTests
{
    private const string Directory = "/model";

    [Fact]
    public void Random_operations_with_crashes_match_the_reference_model()
    {
        var totals = new RunTotals();
        ModelSeeds.Run(ciDefault: 100, seed => new ModelRun(seed, totals).Execute(operations: 400));

        // Guard against a vacuous run: the seeds together must have crashed, lost unsynced
        // writes, flushed and compacted.
        if (ModelSeeds.Get(100).Count() >= 50)
        {
            Assert.True(totals.Crashes > 20, $"{totals.Crashes} crashes");
            Assert.True(totals.CrashesThatLostWrites > 5, $"{totals.CrashesThatLostWrites} crashes lost unsynced writes");
            Assert.True(totals.Compactions > 100, $"{totals.Compactions} compactions");
            Assert.True(totals.FailedOperations > 20, $"{totals.FailedOperations} operations failed under injected faults");
        }
    }

    [Fact]
    public void An_even_seed_replays_exactly()
    {
        string first = new ModelRun(4, new RunTotals()).Execute(operations: 400);
        string second = new ModelRun(4, new RunTotals()).Execute(operations: 400);
        Assert.Equal(first, second);
    }

    private sealed class RunTotals
    {
        public int Crashes;
        public int CrashesThatLostWrites;
        public long Compactions;
        public int FailedOperations;
    }

    private sealed class ModelRun(int seed, RunTotals totals)
    {
        private readonly Random _rng = new(seed);
        private readonly FaultInjectingFileSystem _fs = new();
        private readonly List<(LsmSnapshot Snapshot, SortedDictionary<string, string> State)> _snapshots = [];
        private SortedDictionary<string, string> _model = new(StringComparer.Ordinal);
        private SortedDictionary<string, string> _durable = new(StringComparer.Ordinal);
        private List<List<(string Key, string? Value)>> _sinceDurable = [];
        private LsmOptions _options = null!;
        private LsmDatabase _db = null!;

        // A fault (full disk, failed fsync) happened since the last durable point: even a clean
        // close may have lost unsynced writes, so reopening is checked like a crash.
        private bool _faultSinceDurable;
        private bool _diskLimited;
        private bool _syncFailureArmed;

        private bool FaultsActive => _diskLimited || _syncFailureArmed;

        /// <summary>Runs the seed; returns a fingerprint of the end state (files, sizes, work counters).</summary>
        public string Execute(int operations)
        {
            _options = new LsmOptions
            {
                FileSystem = _fs,
                MemtableSizeBytes = 1024 * _rng.Next(2, 6),
                MaxImmutableMemtables = _rng.Next(1, 3),
                TargetFileSize = 2048 * _rng.Next(1, 4),
                MaxBytesForLevelBase = 8 * 1024,
                LevelMultiplier = 3,
                Level0CompactionTrigger = 2,
                Level0SlowdownTrigger = 3,
                Level0StopTrigger = 5,
                BlockCacheBytes = _rng.Next(2) == 0 ? 0 : 32 * 1024,
                MaxOpenTables = 8,
                InlineBackgroundWork = seed % 2 == 0,
                Table = new TableOptions
                {
                    BlockSize = 256,
                    RestartInterval = _rng.Next(1, 8),
                    PrefixExtractor = _rng.Next(2) == 0 ? new FixedPrefixExtractor(2) : null,
                },
            };
            _db = LsmDatabase.Open(Directory, _options);
            try
            {
                for (int i = 0; i < operations; i++)
                {
                    Step(i);
                }

                EndFaults();
                for (int attempt = 0; ; attempt++)
                {
                    try
                    {
                        _db.WaitForCompactions();
                        break;
                    }
                    catch (IOException) when (attempt < 3)
                    {
                        // A background attempt that began before the faults ended failed; the next succeeds.
                    }
                }

                CheckEverything();
                LsmStatistics stats = _db.GetStatistics();
                totals.Compactions += stats.Compactions;
                return string.Join(",", _fs.ListFiles(Directory).Select(n => $"{n}:{_fs.ReadAllBytes($"{Directory}/{n}").Length}")) +
                    $"; flushes {stats.Flushes}, compactions {stats.Compactions}, flushed {stats.BytesFlushed}, compacted {stats.BytesCompactedWritten}";
            }
            finally
            {
                ReleaseSnapshots();
                _db.Dispose();
            }
        }

        private void Step(int step)
        {
            if (FaultsActive && _rng.Next(10) == 0)
            {
                EndFaults();
            }
            else if (!_diskLimited && _rng.Next(100) < 2)
            {
                _fs.CapacityBytes = _fs.UsedBytes + _rng.Next(30000);
                _diskLimited = true;
                _faultSinceDurable = true;
            }
            else if (_rng.Next(100) == 0)
            {
                _fs.FailNextSyncs(1);
                _syncFailureArmed = true;
                _faultSinceDurable = true;
            }

            int r = _rng.Next(1000);
            if (r < 300)
            {
                ApplyWrite([(Key(), _rng.Next(5) == 0 ? null : Value())]);
            }
            else if (r < 400)
            {
                int n = _rng.Next(1, 6);
                var batch = new List<(string, string?)>();
                for (int i = 0; i < n; i++)
                {
                    batch.Add((Key(), _rng.Next(3) == 0 ? null : Value()));
                }

                ApplyWrite(batch);
            }
            else if (r < 550)
            {
                string key = Key();
                CheckGet(key, _model, null);
            }
            else if (r < 650)
            {
                CheckScan(_model, null);
            }
            else if (r < 700)
            {
                if (_snapshots.Count < 3)
                {
                    _snapshots.Add((_db.GetSnapshot(), new SortedDictionary<string, string>(_model, StringComparer.Ordinal)));
                }
                else
                {
                    int i = _rng.Next(_snapshots.Count);
                    _snapshots[i].Snapshot.Dispose();
                    _snapshots.RemoveAt(i);
                }
            }
            else if (r < 800)
            {
                if (_snapshots.Count > 0)
                {
                    var (snapshot, state) = _snapshots[_rng.Next(_snapshots.Count)];
                    CheckGet(Key(), state, snapshot);
                    CheckScan(state, snapshot);
                }
            }
            else if (r < 830)
            {
                if (Tolerate(() => _db.Flush()))
                {
                    MarkDurable();
                }
            }
            else if (r < 840)
            {
                if (Tolerate(() => _db.CompactRange(_rng.Next(2) == 0 ? null : Encoding.ASCII.GetBytes(Key()), null)))
                {
                    MarkDurable();
                }
            }
            else if (r < 860)
            {
                ReleaseSnapshots();
                totals.Compactions += _db.GetStatistics().Compactions;
                _db.Dispose();
                Reopen();
                if (_faultSinceDurable)
                {
                    MatchRecoveredState("clean reopen after faults", step);
                }
                else
                {
                    MarkDurable();
                    CheckEverything();
                }
            }
            else if (r < 890)
            {
                Crash(step);
            }
            else
            {
                CheckEverything();
            }
        }

        private void ApplyWrite(List<(string Key, string? Value)> operations)
        {
            var batch = new WriteBatch();
            foreach (var (key, value) in operations)
            {
                if (value == null)
                {
                    batch.Delete(Encoding.ASCII.GetBytes(key));
                }
                else
                {
                    batch.Put(Encoding.ASCII.GetBytes(key), Encoding.ASCII.GetBytes(value));
                }
            }

            bool sync = _rng.Next(8) == 0;
            if (!Tolerate(() => _db.Write(batch, new WriteOptions { Sync = sync })))
            {
                // A failed write applied nothing: reads must not see it, now or after a crash.
                return;
            }

            Apply(_model, operations);
            _sinceDurable.Add(operations);
            if (sync)
            {
                MarkDurable();
            }
        }

        private static void Apply(SortedDictionary<string, string> state, List<(string Key, string? Value)> operations)
        {
            foreach (var (key, value) in operations)
            {
                if (value == null)
                {
                    state.Remove(key);
                }
                else
                {
                    state[key] = value;
                }
            }
        }

        private void MarkDurable()
        {
            _durable = new SortedDictionary<string, string>(_model, StringComparer.Ordinal);
            _sinceDurable = [];
            _faultSinceDurable = FaultsActive;
        }

        /// <summary>Runs an operation that injected faults may fail; false if it failed.</summary>
        private bool Tolerate(Action operation)
        {
            try
            {
                operation();
                return true;
            }
            catch (IOException) when (_faultSinceDurable || FaultsActive)
            {
                totals.FailedOperations++;
                return false;
            }
        }

        private void EndFaults()
        {
            _fs.CapacityBytes = long.MaxValue;
            _fs.FailNextSyncs(0);
            _diskLimited = false;
            _syncFailureArmed = false;
        }

        /// <summary>Opens the database; if faults make recovery itself fail, they end and it opens again.</summary>
        private void Reopen()
        {
            try
            {
                _db = LsmDatabase.Open(Directory, _options);
            }
            catch (IOException) when (_faultSinceDurable || FaultsActive)
            {
                totals.FailedOperations++;
                EndFaults();
                _db = LsmDatabase.Open(Directory, _options);
            }
        }

        private void Crash(int step)
        {
            CrashMode mode = (CrashMode)_rng.Next(3);
            _fs.Crash(mode, _rng);
            ReleaseSnapshots();
            totals.Compactions += _db.GetStatistics().Compactions;
            _db.Dispose();
            totals.Crashes++;
            Reopen();
            MatchRecoveredState($"crash ({mode})", step);
        }

        private void MatchRecoveredState(string what, int step)
        {
            List<KeyValuePair<string, string>> actual = Scan(null, null, null, reverse: false);

            // Find the write the recovered state corresponds to: none after the last durable one may be half there.
            var candidate = new SortedDictionary<string, string>(_durable, StringComparer.Ordinal);
            for (int k = 0; ; k++)
            {
                if (candidate.SequenceEqual(actual))
                {
                    totals.CrashesThatLostWrites += k < _sinceDurable.Count ? 1 : 0;
                    _model = candidate;
                    MarkDurable();
                    return;
                }

                if (k == _sinceDurable.Count)
                {
                    throw new InvalidOperationException(
                        $"after {what} at step {step} the state matches no prefix of the {_sinceDurable.Count} writes since the last durable one; " +
                        $"recovered {actual.Count} keys, reference after all writes {_model.Count}");
                }

                Apply(candidate, _sinceDurable[k]);
            }
        }

        private void ReleaseSnapshots()
        {
            foreach (var (snapshot, _) in _snapshots)
            {
                snapshot.Dispose();
            }

            _snapshots.Clear();
        }

        private void CheckEverything()
        {
            CheckScan(_model, null, full: true);
            foreach (string key in _model.Keys.Take(20))
            {
                CheckGet(key, _model, null);
            }
        }

        private void CheckGet(string key, SortedDictionary<string, string> state, LsmSnapshot? snapshot)
        {
            bool found = _db.TryGet(Encoding.ASCII.GetBytes(key), out byte[] value, snapshot);
            bool expected = state.TryGetValue(key, out string? expectedValue);
            if (found != expected || (found && Encoding.ASCII.GetString(value) != expectedValue))
            {
                throw new InvalidOperationException(
                    $"get {key}: expected {(expected ? expectedValue : "absent")}, got {(found ? Encoding.ASCII.GetString(value) : "absent")}");
            }
        }

        private void CheckScan(SortedDictionary<string, string> state, LsmSnapshot? snapshot, bool full = false)
        {
            string? lower = null, upper = null, prefix = null;
            int kind = full ? 0 : _rng.Next(4);
            if (kind == 1)
            {
                lower = Key();
                upper = Key();
                if (string.CompareOrdinal(lower, upper) > 0)
                {
                    (lower, upper) = (upper, lower);
                }
            }
            else if (kind == 2)
            {
                prefix = "k" + _rng.Next(3);
            }
            else if (kind == 3)
            {
                lower = _rng.Next(2) == 0 ? Key() : null;
            }

            bool reverse = !full && _rng.Next(2) == 0;
            IEnumerable<KeyValuePair<string, string>> expected = state.Where(kv =>
                (lower == null || string.CompareOrdinal(kv.Key, lower) >= 0) &&
                (upper == null || string.CompareOrdinal(kv.Key, upper) < 0) &&
                (prefix == null || kv.Key.StartsWith(prefix, StringComparison.Ordinal)));
            if (reverse)
            {
                expected = expected.Reverse();
            }

            List<KeyValuePair<string, string>> actual = Scan(lower, upper, prefix, reverse, snapshot);
            List<KeyValuePair<string, string>> want = expected.ToList();
            if (!want.SequenceEqual(actual))
            {
                int at = want.Zip(actual).TakeWhile(p => p.First.Equals(p.Second)).Count();
                throw new InvalidOperationException(
                    $"scan [{lower}, {upper}) prefix {prefix} reverse {reverse}: expected {want.Count} entries, got {actual.Count}; first difference at {at}: " +
                    $"expected {(at < want.Count ? want[at] : "end")}, got {(at < actual.Count ? actual[at] : "end")}");
            }

            if (!full && want.Count > 2)
            {
                CheckDirectionChanges(lower, upper, prefix, snapshot, want, reverse);
            }
        }

        /// <summary>Walks a few steps one way, then back: the keys must retrace.</summary>
        private void CheckDirectionChanges(string? lower, string? upper, string? prefix, LsmSnapshot? snapshot,
            List<KeyValuePair<string, string>> ordered, bool reverse)
        {
            using LsmIterator it = _db.NewIterator(Options(lower, upper, prefix, snapshot));
            int steps = _rng.Next(1, ordered.Count);
            if (reverse)
            {
                it.SeekToLast();
            }
            else
            {
                it.SeekToFirst();
            }

            for (int i = 0; i < steps; i++)
            {
                if (reverse)
                {
                    it.Prev();
                }
                else
                {
                    it.Next();
                }
            }

            string here = Encoding.ASCII.GetString(it.Key);
            if (reverse)
            {
                it.Next();
            }
            else
            {
                it.Prev();
            }

            string back = Encoding.ASCII.GetString(it.Key);
            if (here != ordered[steps].Key || back != ordered[steps - 1].Key)
            {
                throw new InvalidOperationException($"direction change: at {here} (expected {ordered[steps].Key}), back to {back} (expected {ordered[steps - 1].Key})");
            }
        }

        private List<KeyValuePair<string, string>> Scan(string? lower, string? upper, string? prefix, bool reverse, LsmSnapshot? snapshot = null)
        {
            var result = new List<KeyValuePair<string, string>>();
            using LsmIterator it = _db.NewIterator(Options(lower, upper, prefix, snapshot));
            if (reverse)
            {
                for (it.SeekToLast(); it.Valid; it.Prev())
                {
                    result.Add(new(Encoding.ASCII.GetString(it.Key), Encoding.ASCII.GetString(it.Value)));
                }
            }
            else
            {
                for (it.SeekToFirst(); it.Valid; it.Next())
                {
                    result.Add(new(Encoding.ASCII.GetString(it.Key), Encoding.ASCII.GetString(it.Value)));
                }
            }

            return result;
        }

        private static ReadOptions Options(string? lower, string? upper, string? prefix, LsmSnapshot? snapshot) => new()
        {
            Snapshot = snapshot,
            LowerBound = lower == null ? null : Encoding.ASCII.GetBytes(lower),
            UpperBound = upper == null ? null : Encoding.ASCII.GetBytes(upper),
            Prefix = prefix == null ? null : Encoding.ASCII.GetBytes(prefix),
        };

        private string Key() => "k" + _rng.Next(300).ToString("D3", System.Globalization.CultureInfo.InvariantCulture);

        private string Value() => "v" + new string((char)('a' + _rng.Next(26)), _rng.Next(1, 60)) + _rng.Next(1000);
    }
}
