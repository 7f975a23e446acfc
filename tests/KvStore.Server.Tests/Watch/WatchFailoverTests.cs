using KvStore.Client;
using KvStore.Server.Tests.Cluster;

namespace KvStore.Server.Tests.Watch;

/// <summary>
/// Issue 5, section 6: writers write continuously while the leader and then the watcher's own
/// member are killed (SIGKILL) and restarted; what the SDK watch delivered equals the committed
/// history exactly — every revision once, in order, none missing.
/// </summary>
[Collection(ProcessCluster.Collection)]
public sealed class WatchFailoverTests
{
    [Fact]
    public async Task A_watch_through_leader_and_watcher_node_crashes_delivers_the_committed_history_exactly()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3);
        ClusterNode leader = await cluster.WaitForLeaderAsync();
        ClusterNode watched = cluster.Nodes.First(n => n != leader);
        string[] all = cluster.Nodes.Select(n => n.ClientUrl).ToArray();
        var options = new KvStoreClientOptions { Endpoints = all, RequestTimeout = TimeSpan.FromSeconds(20) };
        await using var writerClient = new KvStoreClient(options);

        // The watcher's first endpoint is a follower: it is served there until that member dies.
        await using var watcherClient = new KvStoreClient(new KvStoreClientOptions { Endpoints = [watched.ClientUrl, .. all.Where(u => u != watched.ClientUrl)] });
        using var stopWatch = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var delivered = new List<WatchBatch>();
        long deliveredUpTo = 0;
        Task watcher = Task.Run(async () =>
        {
            try
            {
                await foreach (WatchBatch batch in watcherClient.Watch("w/", new WatchOptions { Prefix = true, StartRevision = 1, PrevKv = true }, stopWatch.Token))
                {
                    lock (delivered)
                    {
                        delivered.Add(batch);
                    }

                    Volatile.Write(ref deliveredUpTo, batch.Revision);
                }
            }
            catch (OperationCanceledException) when (stopWatch.IsCancellationRequested)
            {
                // The end of the test.
            }
        });

        using var stopWriters = new CancellationTokenSource();
        var acknowledged = new List<(string Key, string? Value, long Revision)>();
        Task[] writers = Enumerable.Range(0, 2).Select(w => Task.Run(async () =>
        {
            for (int i = 0; !stopWriters.IsCancellationRequested; i++)
            {
                string key = $"w/{w}/{i % 5}";
                try
                {
                    if (i % 7 == 6)
                    {
                        DeleteResult deleted = await writerClient.DeleteAsync(key);
                        lock (acknowledged)
                        {
                            acknowledged.Add((key, null, deleted.Deleted > 0 ? deleted.Header.Revision : 0));
                        }
                    }
                    else
                    {
                        string value = $"{w}.{i}";
                        PutResult put = await writerClient.PutAsync(key, value);
                        lock (acknowledged)
                        {
                            acknowledged.Add((key, value, put.Header.Revision));
                        }
                    }
                }
                catch (KvStoreException)
                {
                    // Unknown outcome during a failover: the watch shows whether it was applied.
                }
            }
        })).ToArray();

        await WaitForProgressAsync(() => Volatile.Read(ref deliveredUpTo) > 50);
        leader.Process!.KillNow();
        ClusterNode second = await cluster.WaitForLeaderAsync();
        await WaitForProgressAsync(() => Volatile.Read(ref deliveredUpTo) > 150);
        cluster.Restart(leader);
        await WaitForProgressAsync(() => Volatile.Read(ref deliveredUpTo) > 250);

        // Now the member serving the watch dies: the watch resumes elsewhere, mid-stream.
        watched.Process!.KillNow();
        long atKill = Volatile.Read(ref deliveredUpTo);
        await WaitForProgressAsync(() => Volatile.Read(ref deliveredUpTo) > atKill + 100);
        cluster.Restart(watched);
        await cluster.WaitForLeaderAsync();
        await WaitForProgressAsync(() => Volatile.Read(ref deliveredUpTo) > atKill + 200);

        await stopWriters.CancelAsync();
        await Task.WhenAll(writers);
        long last = (await writerClient.PutAsync("w/end", "end")).Header.Revision;
        await WaitForProgressAsync(() => Volatile.Read(ref deliveredUpTo) >= last);
        await stopWatch.CancelAsync();
        await watcher;

        // Every write in this test is under w/, so revisions 1..last each hold w/ events: the watch
        // must have delivered each of them exactly once, in order.
        List<WatchBatch> events = delivered.Where(b => !b.IsProgress).ToList();
        Assert.Equal(Enumerable.Range(1, (int)last).Select(r => (long)r), events.Select(b => b.Revision));
        Assert.All(events, b => Assert.All(b.Events, e => Assert.Equal(b.Revision, e.Revision)));

        // Every acknowledged write is in it, at its revision, as written.
        var byRevision = events.ToDictionary(b => b.Revision);
        foreach ((string key, string? value, long revision) in acknowledged.Where(a => a.Revision > 0))
        {
            WatchEvent e = Assert.Single(byRevision[revision].Events);
            Assert.Equal(key, e.Kv.KeyString);
            Assert.Equal(value is null ? WatchEventType.Delete : WatchEventType.Put, e.Type);
            if (value is not null)
            {
                Assert.Equal(value, e.Kv.ValueString);
            }
        }

        // And it is the store's history: a fresh, undisturbed watch from revision 1 on the restarted
        // member replays the same events, and replaying them gives every key's current value.
        var replay = new List<WatchBatch>();
        await using (var replayClient = new KvStoreClient(watched.ClientUrl))
        {
            using var replayTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await foreach (WatchBatch batch in replayClient.Watch("w/", new WatchOptions { Prefix = true, StartRevision = 1, PrevKv = true }, replayTimeout.Token))
            {
                replay.Add(batch);
                if (batch.Revision >= last)
                {
                    break;
                }
            }
        }

        Assert.Equal(replay.Select(Describe), events.Select(Describe));
        var state = new Dictionary<string, string>();
        foreach (WatchEvent e in events.SelectMany(b => b.Events))
        {
            if (e.Type == WatchEventType.Put)
            {
                Assert.Equal(state.GetValueOrDefault(e.Kv.KeyString), e.PrevKv?.ValueString);
                state[e.Kv.KeyString] = e.Kv.ValueString;
            }
            else
            {
                Assert.Equal(state[e.Kv.KeyString], e.PrevKv?.ValueString);
                state.Remove(e.Kv.KeyString);
            }
        }

        RangeResult current = await writerClient.RangeAsync(new RangeOptions { Key = "w/"u8.ToArray(), Prefix = true });
        Assert.Equal(state.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"), current.Kvs.Select(kv => $"{kv.KeyString}={kv.ValueString}"));
    }

    private static string Describe(WatchBatch b) =>
        $"{b.Revision}:" + string.Join(",", b.Events.Select(e => $"{e.Type} {e.Kv.KeyString}={e.Kv.ValueString} prev={e.PrevKv?.ValueString}"));

    private static async Task WaitForProgressAsync(Func<bool> condition)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the watch stopped making progress for 60 s");
            await Task.Delay(20);
        }
    }
}
