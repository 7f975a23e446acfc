namespace KvStore.Benchmarks.Storage;

/// <summary>
/// Runs every workload against one engine, db_bench style: fillseq into its own database;
/// fillrandom, overwrite, then (untimed) flush and wait for compactions; then readrandom,
/// readmissing and seekrandom on that settled database. Every engine gets the same key
/// orders (same seeds) and every read is checked, so a fast wrong answer cannot win.
/// </summary>
public sealed class EngineRunner(long keys, ValueSource values, TextWriter progress)
{
    /// <summary>Entries read after each seek (db_bench's seek_nexts for the scan workload).</summary>
    public const int ScanLength = 100;

    private const int FillSeed = 301;
    private const int OverwriteSeed = 302;
    private const int ReadSeed = 303;
    private const int MissingSeed = 304;
    private const int SeekSeed = 305;

    /// <summary>Seeks made by seekrandom: a tenth of the keys, each followed by 100 entries read.</summary>
    public long Seeks => Math.Max(1, keys / 10);

    public EngineRun Run(EngineDescriptor descriptor, string root)
    {
        var results = new Dictionary<Workload, WorkloadResult>();
        string seqDirectory = Path.Combine(root, descriptor.Name + "-fillseq");
        using (IBenchEngine db = descriptor.Open(seqDirectory, keys))
        {
            Record(descriptor, results, FillSequential(db));
        }

        Directory.Delete(seqDirectory, recursive: true);

        string directory = Path.Combine(root, descriptor.Name);
        long writtenBefore = ProcessIo.BytesWritten();
        using IBenchEngine engine = descriptor.Open(directory, keys);
        EngineCounters countersBefore = engine.ReadCounters();
        Record(descriptor, results, Fill(engine, Workload.FillRandom, Permutation(FillSeed), round: 0));
        Record(descriptor, results, Fill(engine, Workload.Overwrite, Permutation(OverwriteSeed), round: 1));
        PhaseClock settleClock = PhaseClock.Start();
        engine.Settle();
        TimeSpan settleCpu = settleClock.Cpu;
        long written = ProcessIo.BytesWritten() - writtenBefore;
        EngineCounters countersSettled = engine.ReadCounters();
        double userBytes = 2.0 * keys * (EngineBudget.KeySize + EngineBudget.ValueSize);
        double? writeAmplification = ProcessIo.IsAvailable ? written / userBytes : null;
        double? engineWriteAmplification = countersSettled.BytesWritten is long b
            ? (b - (countersBefore.BytesWritten ?? 0)) / userBytes
            : null;
        long diskBytes = DirectorySize.Of(directory);

        Record(descriptor, results, ReadRandom(engine, round: 1));
        EngineCounters beforeMissing = engine.ReadCounters();
        Record(descriptor, results, ReadMissing(engine));
        EngineCounters afterMissing = engine.ReadCounters();
        double? falsePositiveRate = FalsePositiveRate(beforeMissing, afterMissing);
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        long managedHeap = GC.GetTotalMemory(forceFullCollection: true);
        long resident = Environment.WorkingSet;

        using (IBenchScanner? scanner = engine.OpenScanner())
        {
            if (scanner is not null)
            {
                Record(descriptor, results, SeekRandom(scanner));
            }
            else
            {
                progress.WriteLine($"  {descriptor.Name,-9} {WorkloadNames.Of(Workload.SeekRandom),-19} skipped: no ordered iteration");
            }
        }

        return new EngineRun(descriptor.Name, results, writeAmplification, engineWriteAmplification,
            falsePositiveRate, diskBytes, managedHeap, resident, settleCpu, afterMissing.Detail);
    }

    private void Record(EngineDescriptor descriptor, Dictionary<Workload, WorkloadResult> results, WorkloadResult r)
    {
        results[r.Workload] = r;
        string errors = r.Errors == 0 ? "" : $"  WRONG ANSWERS: {r.Errors:N0}";
        progress.WriteLine(
            $"  {descriptor.Name,-9} {WorkloadNames.Of(r.Workload),-19} {r.OpsPerSecond,12:N0} ops/s  ({r.Elapsed.TotalSeconds:F2} s, CPU {r.CpuMicrosecondsPerOp:F2} µs/op){errors}");
    }

    private WorkloadResult FillSequential(IBenchEngine db)
    {
        Span<byte> key = stackalloc byte[EngineBudget.KeySize];
        PrepareToTime();
        var clock = PhaseClock.Start();
        for (long i = 0; i < keys; i++)
        {
            BenchKeys.Existing(i, key);
            db.Put(key, values.For(i, 0));
        }

        return new WorkloadResult(Workload.FillSeq, keys, clock.Elapsed, clock.Cpu, 0);
    }

    private WorkloadResult Fill(IBenchEngine db, Workload workload, int[] order, int round)
    {
        Span<byte> key = stackalloc byte[EngineBudget.KeySize];
        PrepareToTime();
        var clock = PhaseClock.Start();
        foreach (int i in order)
        {
            BenchKeys.Existing(i, key);
            db.Put(key, values.For(i, round));
        }

        return new WorkloadResult(workload, order.Length, clock.Elapsed, clock.Cpu, 0);
    }

    private WorkloadResult ReadRandom(IBenchEngine db, int round)
    {
        int[] order = Uniform(ReadSeed, keys, keys);
        Span<byte> key = stackalloc byte[EngineBudget.KeySize];
        Span<byte> value = stackalloc byte[EngineBudget.ValueSize * 2];
        long errors = 0;
        PrepareToTime();
        var clock = PhaseClock.Start();
        foreach (int i in order)
        {
            BenchKeys.Existing(i, key);
            int length = db.Get(key, value);
            if (length < 0 || !value[..length].SequenceEqual(values.For(i, round)))
            {
                errors++;
            }
        }

        return new WorkloadResult(Workload.ReadRandom, order.Length, clock.Elapsed, clock.Cpu, errors);
    }

    private WorkloadResult ReadMissing(IBenchEngine db)
    {
        int[] order = Uniform(MissingSeed, keys, keys);
        Span<byte> key = stackalloc byte[EngineBudget.KeySize];
        Span<byte> value = stackalloc byte[EngineBudget.ValueSize * 2];
        long errors = 0;
        PrepareToTime();
        var clock = PhaseClock.Start();
        foreach (int i in order)
        {
            BenchKeys.Missing(i, key);
            if (db.Get(key, value) >= 0)
            {
                errors++;
            }
        }

        return new WorkloadResult(Workload.ReadMissing, order.Length, clock.Elapsed, clock.Cpu, errors);
    }

    private WorkloadResult SeekRandom(IBenchScanner scanner)
    {
        int[] order = Uniform(SeekSeed, Seeks, keys);
        Span<byte> start = stackalloc byte[EngineBudget.KeySize];
        Span<byte> first = stackalloc byte[EngineBudget.KeySize];
        long errors = 0;
        long bytesSeen = 0;
        PrepareToTime();
        var clock = PhaseClock.Start();
        foreach (int i in order)
        {
            BenchKeys.Existing(i, start);
            int read = scanner.SeekAndScan(start, ScanLength, first, ref bytesSeen);
            long expected = Math.Min(ScanLength, keys - i);
            if (read != expected || !first.SequenceEqual(start))
            {
                errors++;
            }
        }

        TimeSpan elapsed = clock.Elapsed;
        TimeSpan cpu = clock.Cpu;
        if (bytesSeen <= 0)
        {
            errors++;
        }

        return new WorkloadResult(Workload.SeekRandom, order.Length, elapsed, cpu, errors);
    }

    private static double? FalsePositiveRate(EngineCounters before, EngineCounters after)
    {
        if (before.FilterPositives is not long p0 || after.FilterPositives is not long p1 ||
            before.FilterNegatives is not long n0 || after.FilterNegatives is not long n1)
        {
            return null;
        }

        // Every key of readmissing is absent, so every "maybe" the filter said was false.
        long positives = p1 - p0;
        long checks = positives + (n1 - n0);
        return checks == 0 ? null : (double)positives / checks;
    }

    /// <summary>Garbage from the previous phase is collected before the clock starts, not during it.</summary>
    private static void PrepareToTime()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
    }

    private int[] Permutation(int seed)
    {
        var order = new int[keys];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        new Random(seed).Shuffle(order);
        return order;
    }

    private static int[] Uniform(int seed, long count, long bound)
    {
        var random = new Random(seed);
        var order = new int[count];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = random.Next((int)bound);
        }

        return order;
    }
}
