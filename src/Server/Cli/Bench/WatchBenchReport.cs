using System.Globalization;
using System.Text.Json;
using HdrHistogram;

namespace KvStore.Server.Cli.Bench;

/// <summary>The outcome of a watch fan-out run: deliveries and their latency percentiles (microseconds).</summary>
internal sealed record WatchBenchReport(
    WatchBenchSettings Settings,
    long Writes,
    long ExpectedDeliveries,
    long Deliveries,
    long WriteErrors,
    string? FirstError,
    TimeSpan SetupTime,
    double P50Us,
    double P90Us,
    double P99Us,
    double P999Us,
    double MaxUs,
    double AckP50Us,
    double AckP99Us)
{
    public static WatchBenchReport From(WatchBenchSettings settings, HistogramBase latencies, HistogramBase acks, long writes, long expected, long delivered, long errors, string? firstError, TimeSpan setup)
    {
        double Percentile(double p) => latencies.TotalCount == 0 ? 0 : latencies.GetValueAtPercentile(p);
        double Ack(double p) => acks.TotalCount == 0 ? 0 : acks.GetValueAtPercentile(p);
        return new WatchBenchReport(settings, writes, expected, delivered, errors, firstError, setup,
            Percentile(50), Percentile(90), Percentile(99), Percentile(99.9), latencies.TotalCount == 0 ? 0 : latencies.GetMaxValue(), Ack(50), Ack(99));
    }

    public string ToText()
    {
        static string Ms(double us) => (us / 1000).ToString("0.000", CultureInfo.InvariantCulture);
        static string N(long n) => n.ToString(CultureInfo.InvariantCulture);
        var s = Settings;
        var lines = new List<string>
        {
            $"target {s.Target}, watch fan-out: {N(s.Watchers)} watchers on {N(s.Keys)} keys over {N(s.Streams)} streams, {N(s.Rate)} writes/s, {N(s.ValueSize)}-byte values",
            $"writes      {N(Writes)} measured in {s.Duration.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s, write errors {N(WriteErrors)}",
            $"deliveries  {N(Deliveries)} of {N(ExpectedDeliveries)} expected ({(Deliveries / Math.Max(1.0, s.Duration.TotalSeconds)).ToString("0", CultureInfo.InvariantCulture)}/s)",
            $"latency ms  p50 {Ms(P50Us)}  p90 {Ms(P90Us)}  p99 {Ms(P99Us)}  p99.9 {Ms(P999Us)}  max {Ms(MaxUs)}",
            $"write ack   p50 {Ms(AckP50Us)}  p99 {Ms(AckP99Us)} (issue to acknowledgement, for comparison)",
            $"setup       {SetupTime.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s to create the watchers",
        };
        if (FirstError is not null)
        {
            lines.Add($"first error {FirstError}");
        }

        return string.Join(Environment.NewLine, lines);
    }

    public string ToJson() => JsonSerializer.Serialize(new
    {
        target = Settings.Target,
        workload = "watch",
        watchers = Settings.Watchers,
        keys = Settings.Keys,
        streams = Settings.Streams,
        rate = Settings.Rate,
        writes = Writes,
        expected_deliveries = ExpectedDeliveries,
        deliveries = Deliveries,
        write_errors = WriteErrors,
        p50_us = P50Us,
        p90_us = P90Us,
        p99_us = P99Us,
        p999_us = P999Us,
        max_us = MaxUs,
        ack_p50_us = AckP50Us,
        ack_p99_us = AckP99Us,
        first_error = FirstError,
    });
}
