using KvStore.Jepsen.Run;
using ScottPlot;

namespace KvStore.Jepsen.Reports;

/// <summary>latency.png and throughput.png, fault windows shaded.</summary>
public static class RunPlots
{
    private const int WidthPixels = 1200;
    private const int HeightPixels = 500;

    /// <summary>Each operation's latency (ms, log scale) at its invocation time, coloured by outcome.</summary>
    public static void WriteLatency(RunResult result, string path)
    {
        var plot = new Plot();
        ShadeFaults(plot, result);
        foreach ((OperationOutcome outcome, Color colour) in Outcomes())
        {
            OperationRecord[] ops = result.Operations.Where(o => o.Outcome == outcome).ToArray();
            if (ops.Length == 0)
            {
                continue;
            }

            double[] xs = ops.Select(o => o.InvokeNanos / 1e9).ToArray();
            double[] ys = ops.Select(o => Math.Log10(Math.Max(0.01, (o.CompleteNanos - o.InvokeNanos) / 1e6))).ToArray();
            var points = plot.Add.Scatter(xs, ys);
            points.LineWidth = 0;
            points.MarkerSize = 3;
            points.Color = colour;
            points.LegendText = outcome.ToString().ToLowerInvariant();
        }

        plot.Title("Latency per operation (shaded: faults)");
        plot.XLabel("time since start (s)");
        plot.YLabel("latency, log10(ms)");
        plot.ShowLegend();
        plot.SavePng(path, WidthPixels, HeightPixels);
    }

    /// <summary>Completed operations per second, one line per outcome.</summary>
    public static void WriteThroughput(RunResult result, string path)
    {
        var plot = new Plot();
        ShadeFaults(plot, result);
        int seconds = (int)Math.Ceiling(result.Operations.Select(o => o.CompleteNanos / 1e9).DefaultIfEmpty(1).Max()) + 1;
        foreach ((OperationOutcome outcome, Color colour) in Outcomes())
        {
            var counts = new double[seconds];
            foreach (OperationRecord op in result.Operations.Where(o => o.Outcome == outcome))
            {
                counts[(int)(op.CompleteNanos / 1_000_000_000)]++;
            }

            var line = plot.Add.Scatter(Enumerable.Range(0, seconds).Select(s => (double)s).ToArray(), counts);
            line.Color = colour;
            line.MarkerSize = 0;
            line.LegendText = outcome.ToString().ToLowerInvariant();
        }

        plot.Title("Throughput (shaded: faults)");
        plot.XLabel("time since start (s)");
        plot.YLabel("operations completed per second");
        plot.ShowLegend();
        plot.SavePng(path, WidthPixels, HeightPixels);
    }

    private static (OperationOutcome, Color)[] Outcomes() =>
    [
        (OperationOutcome.Ok, Colors.Green),
        (OperationOutcome.Fail, Colors.Red),
        (OperationOutcome.Info, Colors.Orange),
    ];

    private static void ShadeFaults(Plot plot, RunResult result)
    {
        long end = result.Operations.Select(o => o.CompleteNanos).DefaultIfEmpty(0).Max();
        foreach (var fault in result.Faults)
        {
            var span = plot.Add.HorizontalSpan(fault.StartNanos / 1e9, (fault.EndNanos ?? end) / 1e9);
            span.FillStyle.Color = Colors.Blue.WithAlpha(0.12);
            span.LineStyle.Width = 0;
        }
    }
}
