using KvStore.Jepsen.Cluster;
using KvStore.Jepsen.Run;

namespace KvStore.Jepsen.Nemesis;

/// <summary>
/// Runs a nemesis on a staggered schedule: quiet for one interval, a fault for one interval,
/// healed, and again, until the workload phase ends. Every fault is recorded in the timeline.
/// </summary>
public sealed class NemesisSchedule(ClusterUnderTest cluster, INemesis nemesis, TimeSpan interval, Random random, RunClock clock, TextWriter log)
{
    private readonly List<FaultWindow> _timeline = [];

    public IReadOnlyList<FaultWindow> Timeline
    {
        get
        {
            lock (_timeline)
            {
                return [.. _timeline];
            }
        }
    }

    /// <summary>Injects and heals faults until <paramref name="cancellationToken"/> fires; the fault
    /// active at that moment is healed before returning.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (!await DelayAsync(interval, cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            IActiveFault? fault;
            try
            {
                fault = await nemesis.InjectAsync(cluster, random, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (fault is null)
            {
                continue;
            }

            var window = new FaultWindow(nemesis.Name, fault.Description, clock.Nanos);
            lock (_timeline)
            {
                _timeline.Add(window);
            }

            log.WriteLine($"{clock.Seconds,7:0.0} s  nemesis: {fault.Description}");
            await DelayAsync(interval, cancellationToken).ConfigureAwait(false);
            try
            {
                await fault.HealAsync(CancellationToken.None).ConfigureAwait(false);
                log.WriteLine($"{clock.Seconds,7:0.0} s  nemesis: healed ({fault.Description})");
            }
            catch (Exception ex) when (ex is KvStore.Client.KvStoreException or TimeoutException or IOException)
            {
                // The run goes on (the checkers still judge what the clients saw); the failure is in the timeline.
                window.HealError = ex.Message;
                log.WriteLine($"{clock.Seconds,7:0.0} s  nemesis: HEALING FAILED ({fault.Description}): {ex.Message}");
            }

            window.EndNanos = clock.Nanos;
        }
    }

    private static async Task<bool> DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
