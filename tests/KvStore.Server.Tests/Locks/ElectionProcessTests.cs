using KvStore.Client;
using KvStore.Server.Tests.Cli;
using KvStore.Server.Tests.Cluster;

namespace KvStore.Server.Tests.Locks;

/// <summary>Elections on a real cluster with `kvstore elect` client processes.</summary>
[Collection(ProcessCluster.Collection)]
public sealed class ElectionProcessTests
{
    [Fact]
    public async Task Killing_the_elected_process_elects_the_next_campaigner_and_observers_see_every_change_in_order()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3);
        string endpoints = string.Join(',', cluster.Nodes.Select(n => n.ClientUrl));
        string[] common = ["--endpoints", endpoints, "--command-timeout", CliProcess.CommandTimeoutSeconds];

        await using var client = new KvStoreClient(new KvStoreClientOptions { Endpoints = endpoints.Split(','), RequestTimeout = TimeSpan.FromSeconds(30) });
        using var stopObserving = new CancellationTokenSource();
        var observed = new List<LeaderObservation>();
        var firstObservation = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task observer = Task.Run(async () =>
        {
            try
            {
                await foreach (LeaderObservation o in client.Elections.ObserveAsync("svc/leader", stopObserving.Token))
                {
                    lock (observed)
                    {
                        observed.Add(o);
                    }

                    firstObservation.TrySetResult();
                }
            }
            catch (OperationCanceledException) when (stopObserving.IsCancellationRequested)
            {
                // The test is done observing.
            }
        });
        await firstObservation.Task.WaitAsync(CliProcess.HangGuard);
        using ClientProcess listener = ClientProcess.Start(["elect", "svc/leader", "--listen", .. common]);
        await listener.WaitForLinesAsync(lines => lines.Count >= 1, "the listener's first observation");

        using ClientProcess alpha = ClientProcess.Start(["elect", "svc/leader", "alpha", "--ttl", "6", .. common]);
        await alpha.WaitForLinesAsync(lines => lines.Count >= 2, "alpha elected");
        using ClientProcess beta = ClientProcess.Start(["elect", "svc/leader", "beta", "--ttl", "6", .. common]);
        await listener.WaitForLinesAsync(lines => lines.Any(l => l.EndsWith(" alpha", StringComparison.Ordinal)), "the listener seeing alpha");
        KvPair? first = await client.Elections.LeaderAsync("svc/leader");
        Assert.True(first?.ValueString == "alpha", $"alpha no longer leads ({first?.ValueString ?? "no leader"}); alpha's stderr: {alpha.Stderr}");

        alpha.Kill();
        await beta.WaitForLinesAsync(lines => lines.Count >= 2, "beta elected after alpha's process was killed");
        KvPair leader = (await client.Elections.LeaderAsync("svc/leader"))!;
        Assert.Equal("beta", leader.ValueString);
        Assert.Equal(beta.Lines[0], leader.KeyString);
        Assert.True(long.Parse(beta.Lines[1], System.Globalization.CultureInfo.InvariantCulture) > long.Parse(alpha.Lines[1], System.Globalization.CultureInfo.InvariantCulture));
        await listener.WaitForLinesAsync(lines => lines.Any(l => l.EndsWith(" beta", StringComparison.Ordinal)), "the listener seeing beta");

        await BasicOperationTests.WaitUntilAsync(() =>
        {
            lock (observed)
            {
                return Task.FromResult(observed.Any(o => o.Leader?.ValueString == "beta"));
            }
        });
        await stopObserving.CancelAsync();
        await observer;

        // Both observers: no leader, alpha, (no leader while alpha's lease ran out), beta — in that order, nothing else.
        List<string> sdk = observed.Select(o => o.Leader?.ValueString ?? "(none)").ToList();
        List<string> cli = listener.Lines.Select(l => l == "(no leader)" ? "(none)" : l.Split(' ')[^1]).ToList();
        foreach (List<string> seen in new[] { sdk, cli })
        {
            Assert.Equal(["(none)", "alpha"], seen.Take(2));
            Assert.Equal("beta", seen[^1]);
            Assert.All(seen.Skip(2).SkipLast(1), s => Assert.Equal("(none)", s));
        }

        Assert.True(observed.Zip(observed.Skip(1)).All(p => p.First.Revision <= p.Second.Revision), "observations went back in revision");
    }
}
