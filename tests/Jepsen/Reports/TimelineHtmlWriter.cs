using System.Globalization;
using System.Net;
using System.Text;
using KvStore.Jepsen.Run;

namespace KvStore.Jepsen.Reports;

/// <summary>
/// timeline.html: one self-contained page (inline SVG, no scripts or external files) with a lane
/// per client process, each operation a bar from invocation to completion coloured ok (green),
/// failed (red) or unknown (orange), and the fault windows shaded behind, labelled.
/// </summary>
public static class TimelineHtmlWriter
{
    /// <summary>Beyond this many operations the page gets too heavy for a browser; ok operations are then sampled.</summary>
    private const int MaxDrawn = 40_000;
    private const double Width = 1400;
    private const double LaneHeight = 7;
    private const double Top = 40;
    private const double Left = 110;

    public static void Write(RunResult result, string path)
    {
        IReadOnlyList<OperationRecord> ops = result.Operations;
        var lanes = ops.Select(o => (o.Workload, o.Process)).Distinct().OrderBy(l => l.Workload, StringComparer.Ordinal).ThenBy(l => l.Process).ToList();
        var laneIndex = lanes.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i);
        long end = Math.Max(1, ops.Select(o => o.CompleteNanos).Concat(result.Faults.Select(f => f.EndNanos ?? f.StartNanos)).DefaultIfEmpty(1).Max());
        double height = Top + (lanes.Count * LaneHeight) + 30;
        double X(long nanos) => Left + ((Width - Left - 10) * nanos / end);
        var svg = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        svg.Append(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height:0}\" font-family=\"sans-serif\" font-size=\"10\">\n");
        foreach (var fault in result.Faults)
        {
            double x1 = X(fault.StartNanos);
            double x2 = X(fault.EndNanos ?? end);
            string label = WebUtility.HtmlEncode(fault.Description);
            svg.Append(inv, $"<rect x=\"{x1:0.0}\" y=\"{Top - 25}\" width=\"{Math.Max(1, x2 - x1):0.0}\" height=\"{height - Top + 25:0}\" fill=\"#8080ff\" fill-opacity=\"0.18\"><title>{label}</title></rect>\n");
            svg.Append(inv, $"<text x=\"{x1 + 2:0.0}\" y=\"{Top - 14}\" fill=\"#3030a0\">{label}</text>\n");
        }

        for (int i = 0; i < lanes.Count; i++)
        {
            if (i == 0 || lanes[i].Workload != lanes[i - 1].Workload || lanes.Count < 60)
            {
                svg.Append(inv, $"<text x=\"2\" y=\"{Top + (i * LaneHeight) + LaneHeight - 1:0.0}\" font-size=\"7\">{lanes[i].Workload} p{lanes[i].Process}</text>\n");
            }
        }

        // Past the limit every failed and unknown operation is still drawn, and an even sample of
        // the ok ones, so no part of the run (the final reads included) goes missing.
        int notOk = ops.Count(o => o.Outcome != OperationOutcome.Ok);
        int okStride = Math.Max(1, (int)Math.Ceiling((ops.Count - notOk) / (double)Math.Max(1, MaxDrawn - notOk)));
        int okSeen = 0;
        var drawn = ops.Where(o => o.Outcome != OperationOutcome.Ok || okSeen++ % okStride == 0).ToList();
        foreach (OperationRecord op in drawn)
        {
            double x1 = X(op.InvokeNanos);
            double x2 = X(op.CompleteNanos);
            double y = Top + (laneIndex[(op.Workload, op.Process)] * LaneHeight);
            string colour = op.Outcome switch
            {
                OperationOutcome.Ok => "#2ca02c",
                OperationOutcome.Fail => "#d62728",
                _ => "#ff9f0e",
            };
            svg.Append(inv, $"<rect x=\"{x1:0.0}\" y=\"{y:0.0}\" width=\"{Math.Max(0.8, x2 - x1):0.0}\" height=\"{LaneHeight - 1}\" fill=\"{colour}\"><title>{op.Workload} p{op.Process} {op.Function} {op.Outcome.ToString().ToLowerInvariant()} at {op.InvokeNanos / 1e9:0.000} s, {(op.CompleteNanos - op.InvokeNanos) / 1e6:0.0} ms</title></rect>\n");
        }

        for (int s = 0; s <= end / 1_000_000_000; s += Math.Max(1, (int)(end / 1_000_000_000 / 20)))
        {
            double x = X(s * 1_000_000_000L);
            svg.Append(inv, $"<text x=\"{x:0.0}\" y=\"{height - 8:0}\">{s}s</text>\n");
        }

        svg.Append("</svg>\n");
        string title = $"kvstore-jepsen run: {string.Join(",", result.Options.Workloads)} / {(result.Options.Nemeses.Count == 0 ? "none" : string.Join(",", result.Options.Nemeses))} / {result.Options.Nodes} nodes / seed {result.Options.Seed}";
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>").Append(WebUtility.HtmlEncode(title)).Append("</title></head><body>\n");
        html.Append("<h3>").Append(WebUtility.HtmlEncode(title)).Append("</h3>\n<p>");
        foreach (var checker in result.Checkers)
        {
            html.Append(WebUtility.HtmlEncode($"{checker.Checker}: {RunReportWriter.Name(checker.Verdict)} — {checker.Summary}")).Append("<br>\n");
        }

        html.Append(inv, $"Bars: <span style=\"color:#2ca02c\">ok</span>, <span style=\"color:#d62728\">failed</span>, <span style=\"color:#ff9f0e\">unknown (info)</span>; shaded: fault windows. {drawn.Count} of {ops.Count} operations drawn{(okStride > 1 ? $" (1 in {okStride} ok ones)" : "")}.</p>\n");
        html.Append(svg);
        html.Append("</body></html>\n");
        File.WriteAllText(path, html.ToString());
    }
}
