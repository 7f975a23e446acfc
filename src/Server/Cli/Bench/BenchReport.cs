using System.Globalization;
using System.Text.Json;
using HdrHistogram;

namespace KvStore.Server.Cli.Bench;

/// <summary>The outcome of one benchmark run: counts, throughput and latency percentiles (microseconds).</summary>
internal sealed record BenchReport(
    string Target,
    string Workload,
    int Clients,
    int Connections,
    int ValueSize,
    long Operations,
    long Errors,
    long CasSwapped,
    TimeSpan Elapsed,
    double P50Us,
    double P90Us,
    double P99Us,
    double P999Us,
    double MaxUs,
    string? FirstError)
{
    public double OpsPerSecond => Elapsed > TimeSpan.Zero ? Operations / Elapsed.TotalSeconds : 0;

    public static BenchReport From(BenchSettings settings, HistogramBase latencies, long errors, long swapped, TimeSpan elapsed, string? firstError)
    {
        double Percentile(double p) => latencies.TotalCount == 0 ? 0 : latencies.GetValueAtPercentile(p) / 1.0;
        return new BenchReport(
            settings.Target,
            settings.Workload.ToString().ToLowerInvariant() + (settings.Workload == BenchWorkload.Get ? (settings.Serializable ? " (serializable)" : " (linearizable)") : string.Empty),
            settings.Clients,
            settings.Connections,
            settings.ValueSize,
            latencies.TotalCount,
            errors,
            swapped,
            elapsed,
            Percentile(50),
            Percentile(90),
            Percentile(99),
            Percentile(99.9),
            latencies.TotalCount == 0 ? 0 : latencies.GetMaxValue(),
            firstError);
    }

    public string ToText()
    {
        static string Ms(double us) => (us / 1000).ToString("0.000", CultureInfo.InvariantCulture);
        var lines = new List<string>
        {
            $"target {Target}, workload {Workload}, {Clients} clients over {Connections} connections, {ValueSize}-byte values",
            $"operations  {Operations.ToString(CultureInfo.InvariantCulture)} in {Elapsed.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)} s, errors {Errors.ToString(CultureInfo.InvariantCulture)}",
            $"throughput  {OpsPerSecond.ToString("0", CultureInfo.InvariantCulture)} ops/s",
            $"latency ms  p50 {Ms(P50Us)}  p90 {Ms(P90Us)}  p99 {Ms(P99Us)}  p99.9 {Ms(P999Us)}  max {Ms(MaxUs)}",
        };
        if (Workload.StartsWith("cas", StringComparison.Ordinal))
        {
            lines.Add($"cas swapped {CasSwapped.ToString(CultureInfo.InvariantCulture)} of {Operations.ToString(CultureInfo.InvariantCulture)}");
        }

        if (FirstError is not null)
        {
            lines.Add($"first error {FirstError}");
        }

        return string.Join(Environment.NewLine, lines);
    }

    public string ToJson() => JsonSerializer.Serialize(
        new
        {
            target = Target, workload = Workload, clients = Clients, connections = Connections, value_size = ValueSize,
            operations = Operations, errors = Errors, cas_swapped = CasSwapped, elapsed_seconds = Elapsed.TotalSeconds,
            ops_per_second = OpsPerSecond, p50_ms = P50Us / 1000, p90_ms = P90Us / 1000, p99_ms = P99Us / 1000, p999_ms = P999Us / 1000, max_ms = MaxUs / 1000,
            first_error = FirstError,
        });
}
