using System.Globalization;
using System.Text;

namespace KvStore.Benchmarks.Storage;

/// <summary>
/// The side-by-side report as Markdown (readable in a terminal too): ops/s per engine and
/// workload, ours divided by RocksDB and by ZoneTree, write amplification, Bloom false
/// positives, and the issue's targets marked met or not met.
/// </summary>
public static class ResultTable
{
    private const string RocksDb = "rocksdb";
    private const string ZoneTree = "zonetree";

    public static string Render(IReadOnlyList<EngineRun> runs)
    {
        var text = new StringBuilder();
        EngineRun? ours = runs.FirstOrDefault(r => r.Engine == EngineCatalog.Ours);
        EngineRun? rocks = runs.FirstOrDefault(r => r.Engine == RocksDb);
        EngineRun? zone = runs.FirstOrDefault(r => r.Engine == ZoneTree);
        bool ratioRocks = ours is not null && rocks is not null;
        bool ratioZone = ours is not null && zone is not null;

        text.Append("| workload (ops/s) |");
        foreach (EngineRun run in runs)
        {
            text.Append(CultureInfo.InvariantCulture, $" {run.Engine} |");
        }

        text.Append(ratioRocks ? " ours/rocksdb |" : "").Append(ratioZone ? " ours/zonetree |" : "").AppendLine();
        text.Append("|---|");
        text.Append(string.Concat(Enumerable.Repeat("---:|", runs.Count + (ratioRocks ? 1 : 0) + (ratioZone ? 1 : 0))));
        text.AppendLine();

        foreach (Workload w in Enum.GetValues<Workload>())
        {
            text.Append(CultureInfo.InvariantCulture, $"| {WorkloadNames.Of(w)} |");
            foreach (EngineRun run in runs)
            {
                text.Append(' ').Append(Cell(run, w)).Append(" |");
            }

            if (ratioRocks)
            {
                text.Append(' ').Append(RatioCell(ours!, rocks!, w)).Append(" |");
            }

            if (ratioZone)
            {
                text.Append(' ').Append(RatioCell(ours!, zone!, w)).Append(" |");
            }

            text.AppendLine();
        }

        text.AppendLine();
        text.AppendLine("CPU time per operation, every thread of the process (background work included; less disturbed by other load than ops/s). Ratios are peer µs ÷ ours, so above 1 means ours costs less:");
        text.AppendLine();
        text.Append("| workload (CPU µs/op) |");
        foreach (EngineRun run in runs)
        {
            text.Append(CultureInfo.InvariantCulture, $" {run.Engine} |");
        }

        text.Append(ratioRocks ? " ours/rocksdb |" : "").Append(ratioZone ? " ours/zonetree |" : "").AppendLine();
        text.Append("|---|");
        text.Append(string.Concat(Enumerable.Repeat("---:|", runs.Count + (ratioRocks ? 1 : 0) + (ratioZone ? 1 : 0))));
        text.AppendLine();
        foreach (Workload w in Enum.GetValues<Workload>())
        {
            text.Append(CultureInfo.InvariantCulture, $"| {WorkloadNames.Of(w)} |");
            foreach (EngineRun run in runs)
            {
                text.Append(' ').Append(run.Results.TryGetValue(w, out WorkloadResult? r) ? r.CpuMicrosecondsPerOp.ToString("F2", CultureInfo.InvariantCulture) : "—").Append(" |");
            }

            if (ratioRocks)
            {
                text.Append(' ').Append(CpuRatioCell(ours!, rocks!, w)).Append(" |");
            }

            if (ratioZone)
            {
                text.Append(' ').Append(CpuRatioCell(ours!, zone!, w)).Append(" |");
            }

            text.AppendLine();
        }

        text.AppendLine();
        text.Append("| |");
        foreach (EngineRun run in runs)
        {
            text.Append(CultureInfo.InvariantCulture, $" {run.Engine} |");
        }

        text.AppendLine().Append("|---|").Append(string.Concat(Enumerable.Repeat("---:|", runs.Count))).AppendLine();
        Row(text, "write amplification (process bytes written ÷ user bytes; fillrandom+overwrite+compaction)", runs, r => Format(r.WriteAmplification, "F2"));
        Row(text, "write amplification (engine's own table-write statistics)", runs, r => Format(r.EngineWriteAmplification, "F2"));
        Row(text, "CPU to flush and finish compactions after overwrite (s)", runs, r => r.SettleCpu.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture));
        Row(text, "database size after compaction (MB)", runs, r => (r.DiskBytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture));
        Row(text, "live managed heap after reads (MB)", runs, r => (r.ManagedHeapBytes / 1048576.0).ToString("F0", CultureInfo.InvariantCulture));
        Row(text, "process resident set after reads (MB)", runs, r => (r.ResidentBytes / 1048576.0).ToString("F0", CultureInfo.InvariantCulture));
        Row(text, "Bloom false-positive rate in readmissing", runs, r => r.BloomFalsePositiveRate is double fp ? fp.ToString("P2", CultureInfo.InvariantCulture) : "—");

        if (ours is not null)
        {
            text.AppendLine().AppendLine("Targets (issue 2, section 7):");
            Target(text, "readmissing ≥ 1.0x RocksDB", Ratio(ours, rocks, Workload.ReadMissing), 1.0);
            Target(text, "fillrandom ≥ 0.5x RocksDB", Ratio(ours, rocks, Workload.FillRandom), 0.5);
            Target(text, "readrandom ≥ 0.5x RocksDB", Ratio(ours, rocks, Workload.ReadRandom), 0.5);
            Target(text, "seekrandom+scan100 ≥ 0.5x RocksDB", Ratio(ours, rocks, Workload.SeekRandom), 0.5);
            foreach (Workload w in Enum.GetValues<Workload>())
            {
                Target(text, $"{WorkloadNames.Of(w)} ≥ 1.0x ZoneTree", Ratio(ours, zone, w), 1.0);
            }

            string fp = ours.BloomFalsePositiveRate is double rate
                ? $"{(rate <= 0.01 ? "met" : "NOT met")} ({rate.ToString("P2", CultureInfo.InvariantCulture)})"
                : "not measured (the engine reported no filter counters)";
            text.AppendLine(CultureInfo.InvariantCulture, $"- Bloom false positives ≤ 1% at 10 bits/key: {fp}");
        }

        return text.ToString();
    }

    private static string Cell(EngineRun run, Workload w)
    {
        if (!run.Results.TryGetValue(w, out WorkloadResult? r))
        {
            return "—";
        }

        string ops = r.OpsPerSecond.ToString("N0", CultureInfo.InvariantCulture);
        return r.Errors == 0 ? ops : $"{ops} ({r.Errors.ToString("N0", CultureInfo.InvariantCulture)} WRONG)";
    }

    private static double? Ratio(EngineRun ours, EngineRun? peer, Workload w) =>
        peer is not null && ours.Results.TryGetValue(w, out WorkloadResult? a) && peer.Results.TryGetValue(w, out WorkloadResult? b)
            ? a.OpsPerSecond / b.OpsPerSecond
            : null;

    private static string RatioCell(EngineRun ours, EngineRun peer, Workload w) =>
        Ratio(ours, peer, w) is double r ? r.ToString("F2", CultureInfo.InvariantCulture) + "x" : "—";

    private static string CpuRatioCell(EngineRun ours, EngineRun peer, Workload w) =>
        ours.Results.TryGetValue(w, out WorkloadResult? a) && peer.Results.TryGetValue(w, out WorkloadResult? b) && a.Cpu > TimeSpan.Zero
            ? (b.CpuMicrosecondsPerOp / a.CpuMicrosecondsPerOp).ToString("F2", CultureInfo.InvariantCulture) + "x"
            : "—";

    private static void Target(StringBuilder text, string name, double? ratio, double goal)
    {
        string verdict = ratio is double r
            ? $"{(r >= goal ? "met" : "NOT met")} ({r.ToString("F2", CultureInfo.InvariantCulture)}x)"
            : "not measured (peer not run)";
        text.AppendLine(CultureInfo.InvariantCulture, $"- {name}: {verdict}");
    }

    private static void Row(StringBuilder text, string label, IReadOnlyList<EngineRun> runs, Func<EngineRun, string> cell)
    {
        text.Append(CultureInfo.InvariantCulture, $"| {label} |");
        foreach (EngineRun run in runs)
        {
            text.Append(' ').Append(cell(run)).Append(" |");
        }

        text.AppendLine();
    }

    private static string Format(double? value, string format) =>
        value is double v ? v.ToString(format, CultureInfo.InvariantCulture) : "—";
}
