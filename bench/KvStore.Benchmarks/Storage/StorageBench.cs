using System.Diagnostics;
using System.Globalization;

namespace KvStore.Benchmarks.Storage;

/// <summary>
/// The <c>storage</c> verb: our LSM engine side by side with RocksDB, ZoneTree and FASTER KV
/// on db_bench's workloads, one engine after another in one process, then one table.
/// </summary>
public static class StorageBench
{
    public static int Run(string[] args)
    {
        if (args.Contains("--help") || args.Contains("-h"))
        {
            Console.WriteLine(StorageBenchOptions.Usage);
            return 0;
        }

        StorageBenchOptions? options = StorageBenchOptions.Parse(args, EngineCatalog.All.Select(e => e.Name).ToList(), Console.Error);
        if (options is null)
        {
            return 1;
        }

        var engines = new List<EngineDescriptor>();
        foreach (string name in options.Engines)
        {
            EngineDescriptor? engine = EngineCatalog.Find(name);
            if (engine is null)
            {
                Console.Error.WriteLine($"error: unknown engine '{name}'; this build has: {string.Join(", ", EngineCatalog.All.Select(e => e.Name))}");
                return 1;
            }

            engines.Add(engine);
        }

        bool ownDirectory = options.Directory is null;
        string root = options.Directory ?? Path.Combine(Path.GetTempPath(), $"kvstore-storage-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(root);
        string header =
            $"storage benchmark: {options.Keys.ToString("N0", CultureInfo.InvariantCulture)} keys of {EngineBudget.KeySize} B, " +
            $"values of {EngineBudget.ValueSize} B, sync off, {EngineBudget.BlockCacheBytes >> 20} MB block cache, " +
            $"memtable {EngineBudget.WriteBufferBytes >> 20} MB, bloom {EngineBudget.BloomBitsPerKey} bits/key, no compression\n" +
            $"machine: {MachineDescription.Describe()}\n" +
            $"data: {root}; started {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC";
        Console.WriteLine(header);

        var runner = new EngineRunner(options.Keys, new ValueSource(seed: 7), Console.Out);
        var runs = new List<EngineRun>();
        var failures = new List<string>();
        var total = Stopwatch.StartNew();
        foreach (EngineDescriptor engine in engines)
        {
            Console.WriteLine($"{engine.Name}: {engine.Settings}");
            try
            {
                // Untimed pass on a small database first, so the JIT has tiered up this engine's
                // code (and the runner's) before anything is measured; the first engine would
                // otherwise pay for compiling shared code.
                string warmRoot = Path.Combine(root, "warmup");
                Directory.CreateDirectory(warmRoot);
                new EngineRunner(WarmUpKeys(options.Keys), new ValueSource(seed: 8), TextWriter.Null).Run(engine, warmRoot);
                TryDelete(warmRoot);
                runs.Add(runner.Run(engine, root));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // One engine failing (a native library that does not load here) must not hide the others' results.
                string failure = $"{engine.Name} failed: {e.GetType().Name}: {e.Message}";
                failures.Add(failure);
                Console.Error.WriteLine($"error: {engine.Name} failed: {e}");
            }
            finally
            {
                TryDelete(Path.Combine(root, engine.Name));
            }
        }

        if (ownDirectory)
        {
            TryDelete(root);
        }

        string table = ResultTable.Render(runs);
        string footer = $"seekrandom: {runner.Seeks.ToString("N0", CultureInfo.InvariantCulture)} seeks, each reading the next {EngineRunner.ScanLength} entries; " +
            $"faster has no ordered iteration, so it has no scan. Total {total.Elapsed.TotalSeconds:F0} s.";
        Console.WriteLine();
        Console.WriteLine(table);
        string shapes = string.Concat(runs.Where(r => !string.IsNullOrEmpty(r.Detail)).Select(r => $"{r.Engine} after the run: {r.Detail}\n"));
        Console.WriteLine(footer);
        Console.Write(shapes);
        foreach (string failure in failures)
        {
            Console.WriteLine("FAILED: " + failure);
        }

        if (options.OutFile is not null)
        {
            File.WriteAllText(options.OutFile, header + "\n\n" + table + "\n" + footer + "\n" + shapes);
            Console.WriteLine($"written to {options.OutFile}");
        }

        bool wrongAnswers = runs.Any(r => r.Results.Values.Any(w => w.Errors > 0));
        return failures.Count > 0 || wrongAnswers ? 1 : 0;
    }

    /// <summary>Enough operations for every hot method to pass the tiering thresholds, small next to the measured run.</summary>
    private static long WarmUpKeys(long keys) => Math.Clamp(keys / 10, Math.Min(keys, 20_000), 50_000);

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"warning: could not delete {directory}: {e.Message}");
        }
    }
}
