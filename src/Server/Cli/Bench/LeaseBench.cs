using System.Diagnostics;
using System.Globalization;

namespace KvStore.Server.Cli.Bench;

/// <summary>
/// Many leases kept alive: grants <c>leases</c> leases spread over the connections (each
/// connection is one client process's worth of keep-alive), keeps them alive for a while, and
/// counts the ones lost — reported gone by a keep-alive answer, or missing from the cluster's lease
/// list at the end. The target is none lost.
/// </summary>
internal sealed class LeaseBench(ICoordinationBenchDriver driver, int leases, int connections, int ttlSeconds, TimeSpan hold, TextWriter progress)
{
    /// <summary>Grants in flight per connection while granting.</summary>
    private const int GrantConcurrency = 32;

    public async Task<LeaseBenchReport> RunAsync(CancellationToken cancellationToken)
    {
        var granted = new long[leases];
        int next = -1;
        var grantClock = Stopwatch.StartNew();
        Task grantProgress = ReportAsync(() => $"leases: granted {Math.Min(Volatile.Read(ref next) + 1, leases)}/{leases}", () => Volatile.Read(ref next) + 1 >= leases, cancellationToken);
        await Task.WhenAll(Enumerable.Range(0, connections * GrantConcurrency).Select(async worker =>
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < leases)
            {
                granted[index] = await driver.GrantLeaseAsync(worker % connections, ttlSeconds, keepAlive: true, cancellationToken).ConfigureAwait(false);
            }
        })).ConfigureAwait(false);
        TimeSpan grantTime = grantClock.Elapsed;
        await grantProgress.ConfigureAwait(false);
        progress.WriteLine();

        var holdClock = Stopwatch.StartNew();
        await ReportAsync(() => $"leases: kept alive {holdClock.Elapsed.TotalSeconds:0}/{hold.TotalSeconds:0} s, lost {driver.LostLeases}", () => holdClock.Elapsed >= hold, cancellationToken).ConfigureAwait(false);
        progress.WriteLine();

        IReadOnlySet<long> alive = await driver.ListLeasesAsync(cancellationToken).ConfigureAwait(false);
        long missing = granted.LongCount(id => !alive.Contains(id));
        return new LeaseBenchReport(leases, connections, ttlSeconds, grantTime, holdClock.Elapsed, driver.LostLeases, missing, driver.SlowestRenewalRound);
    }

    private async Task ReportAsync(Func<string> line, Func<bool> done, CancellationToken cancellationToken)
    {
        while (!done())
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            progress.Write("\r" + line() + "   ");
        }
    }
}

/// <summary>The outcome of a lease benchmark run.</summary>
internal sealed record LeaseBenchReport(int Leases, int Connections, int TtlSeconds, TimeSpan GrantTime, TimeSpan Held, long ReportedLost, long MissingAtEnd, TimeSpan? SlowestRenewalRound)
{
    public string ToText(string target)
    {
        var lines = new List<string>
        {
            $"target {target}, workload leases, {Leases} leases of {TtlSeconds} s kept alive by {Connections} clients",
            $"granted     {Leases} in {GrantTime.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s ({(Leases / GrantTime.TotalSeconds).ToString("0", CultureInfo.InvariantCulture)} grants/s)",
            $"kept alive  {Held.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s",
            $"lost        {ReportedLost} reported by keep-alive, {MissingAtEnd} missing from the lease list at the end",
        };
        if (SlowestRenewalRound is { } slowest)
        {
            lines.Add($"renewals    slowest round of the benchmark's own keep-alive {slowest.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)} s (each id is due every {(TtlSeconds / 3.0).ToString("0.00", CultureInfo.InvariantCulture)} s)");
        }

        return string.Join(Environment.NewLine, lines);
    }
}
