using System.Collections.Concurrent;
using System.Globalization;
using KvStore.Client;
using KvStore.Server.Cli;
using KvStore.Server.Tests.Cli;
using KvStore.Server.Tests.Cluster;

namespace KvStore.Server.Tests.Locks;

/// <summary>Locks with fencing tokens on a real cluster of `kvstore serve` processes, with real client processes.</summary>
[Collection(ProcessCluster.Collection)]
public sealed class LockProcessTests
{
    [Fact]
    public async Task Eight_contending_clients_update_a_fenced_counter_exactly_once_per_acquisition()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3);
        string[] endpoints = cluster.Nodes.Select(n => n.ClientUrl).ToArray();
        const int clients = 8;
        const int rounds = 4;
        var tokens = new ConcurrentBag<long>();
        int acquisitions = 0;

        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            await using var client = new KvStoreClient(new KvStoreClientOptions { Endpoints = endpoints, RequestTimeout = TimeSpan.FromSeconds(30) });
            for (int round = 0; round < rounds; round++)
            {
                await using LockHandle held = await client.Locks.AcquireLockAsync("counter-lock", TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60));
                Interlocked.Increment(ref acquisitions);
                tokens.Add(held.FencingToken);
                KvPair? current = await client.GetAsync("counter");
                long value = current is null ? 0 : long.Parse(current.ValueString, CultureInfo.InvariantCulture);
                TxnResult written = await client.Txn().If(held.Fence).Then(Op.Put("counter", (value + 1).ToString(CultureInfo.InvariantCulture))).CommitAsync();
                Assert.True(written.Succeeded, $"the fenced write of token {held.FencingToken} was refused while its lock was held");
            }
        }));

        await using var reader = new KvStoreClient(new KvStoreClientOptions { Endpoints = endpoints });
        KvPair counter = (await reader.GetAsync("counter"))!;
        Assert.Equal(clients * rounds, acquisitions);
        Assert.Equal(acquisitions, long.Parse(counter.ValueString, CultureInfo.InvariantCulture));
        Assert.Equal(acquisitions, tokens.Distinct().Count());
        FencingTokenStatus after = await reader.Locks.ValidateFencingTokenAsync("counter-lock", tokens.Max());
        Assert.False(after.Valid);
        Assert.Equal(0, after.CurrentToken);
    }

    [Fact]
    public async Task A_wait_ends_with_its_timeout_or_its_lease_and_leaves_no_waiter_behind()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(1);
        await using var client = new KvStoreClient(new KvStoreClientOptions { Endpoints = [cluster.Nodes[0].ClientUrl], RequestTimeout = TimeSpan.FromSeconds(30) });
        await using LockHandle holder = await client.Locks.AcquireLockAsync("busy", TimeSpan.FromSeconds(10));

        await using Lease patient = await client.Leases.GrantAsync(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAsync<KvStoreTimeoutException>(() => client.Locks.AcquireLockAsync("busy", patient.Id, TimeSpan.FromSeconds(1)));
        Assert.Null(await client.GetAsync(KvStoreLocks.WaiterKey("busy"u8, patient.Id)));

        Lease doomed = await client.Leases.GrantAsync(TimeSpan.FromSeconds(10));
        Task<LockHandle> waiting = client.Locks.AcquireLockAsync("busy", doomed.Id);
        await BasicOperationTests.WaitUntilAsync(async () => await client.GetAsync(KvStoreLocks.WaiterKey("busy"u8, doomed.Id)) is not null);
        await doomed.RevokeAsync();
        KvStoreProtocolException gone = await Assert.ThrowsAnyAsync<KvStoreProtocolException>(() => waiting);
        Assert.Equal(KvStore.Client.Protocol.Messages.ErrorCode.LeaseNotFound, gone.Code);

        // Neither abandoned waiter is granted: once the holder releases, the lock is free.
        Assert.True((await client.Locks.ValidateFencingTokenAsync("busy", holder.FencingToken)).Valid);
        await holder.ReleaseAsync();
        Assert.Equal(0, (await client.Locks.ValidateFencingTokenAsync("busy", holder.FencingToken)).CurrentToken);
    }

    [Fact]
    public async Task A_holder_paused_past_its_lease_loses_the_lock_and_every_fenced_write_after_it_resumes_is_refused()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(1);
        string endpoint = cluster.Nodes[0].ClientUrl;
        string stopFile = Path.Combine(cluster.Root, "stop-writing");
        KvStoreExecutable kvstore = CliProcess.Executable;

        // The holder: `kvstore lock` runs a shell loop of fenced writes (each a `kvstore txn`
        // guarded by fence("fenced") = its token), printing ok/refused per attempt.
        const string script = """
            i=0
            while [ ! -e "$STOP_FILE" ]; do
              out=$(printf 'fence("fenced") = %s\n\nput fenced/%s/%s x\n\n' "$KVSTORE_FENCING_TOKEN" "$KVSTORE_FENCING_TOKEN" "$i" | "$KV_HOST" "$KV_DLL" txn --endpoints "$KV_ENDPOINT" --command-timeout 30 2>&1)
              case "$out" in
                SUCCESS*) echo "ok $i" ;;
                FAILURE*) echo "refused $i" ;;
                *) echo "error $i $out" ;;
              esac
              i=$((i+1))
            done
            """;
        using ClientProcess holder = ClientProcess.Start(
            ["lock", "fenced", "--ttl", "6", "--endpoints", endpoint, "--command-timeout", CliProcess.CommandTimeoutSeconds, "--", "sh", "-c", script],
            new Dictionary<string, string> { ["STOP_FILE"] = stopFile, ["KV_HOST"] = kvstore.FileName, ["KV_DLL"] = kvstore.LeadingArguments[0], ["KV_ENDPOINT"] = endpoint });
        await holder.WaitForLinesAsync(lines => lines.Count > 0, "the holder's first fenced write");
        Assert.True(holder.Lines[0].StartsWith("ok ", StringComparison.Ordinal), $"the holder's first fenced write was not applied: {holder.Lines[0]}\n{holder.Stderr}");

        await using var client = new KvStoreClient(new KvStoreClientOptions { Endpoints = [endpoint], RequestTimeout = TimeSpan.FromSeconds(30) });
        KvPair staleHolder = (await client.Elections.LeaderAsync("fenced"))!;
        long staleToken = staleHolder.CreateRevision;

        List<int> paused = holder.StopTree();
        int linesWhilePaused;
        LockHandle successor;
        try
        {
            // The paused holder cannot renew its lease; when it expires, the lock passes on.
            successor = await client.Locks.AcquireLockAsync("fenced", TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60));
        }
        finally
        {
            // Seconds after the pause: everything the holder printed before it has arrived.
            linesWhilePaused = holder.Lines.Count;
            ClientProcess.Continue(paused);
        }

        await using (successor)
        {
            Assert.True(successor.FencingToken > staleToken);
            Assert.True((await client.Txn().If(successor.Fence).Then(Op.Put("fenced/owner", "successor")).CommitAsync()).Succeeded);

            await holder.WaitForLinesAsync(lines => lines.Skip(linesWhilePaused).Count(l => l.StartsWith("refused ", StringComparison.Ordinal)) >= 3, "three refused writes after resuming");
            File.WriteAllText(stopFile, "stop");
            await holder.WaitForExitAsync();

            // The attempt in flight when the holder was paused may have been applied before the
            // lock passed on (the store check below covers it); every attempt after it is refused.
            int inFlight = holder.Lines.Take(linesWhilePaused).Select(AttemptOf).DefaultIfEmpty(-1).Max() + 1;
            List<string> later = holder.Lines.Skip(linesWhilePaused).Where(l => AttemptOf(l) > inFlight).ToList();
            Assert.True(later.Count >= 2, string.Join('\n', holder.Lines));
            Assert.All(later, l => Assert.StartsWith("refused ", l, StringComparison.Ordinal));

            // The store has no write of the stale holder from after its lease expired (the
            // revision that deleted its holder key; the lock passed on after that).
            long expiredAt = successor.FencingToken;
            while (await client.GetAsync(staleHolder.Key, new GetOptions { Revision = expiredAt }) is not null)
            {
                expiredAt++;
            }

            RangeResult stale = await client.RangeAsync(new RangeOptions { Key = System.Text.Encoding.UTF8.GetBytes($"fenced/{staleToken}/"), Prefix = true });
            Assert.NotEmpty(stale.Kvs);
            Assert.All(stale.Kvs, kv => Assert.True(kv.ModRevision < expiredAt, $"{kv.KeyString} was written at {kv.ModRevision}, after the holder's lease expired at {expiredAt}"));
            Assert.True((await client.Locks.ValidateFencingTokenAsync("fenced", successor.FencingToken)).Valid);
            Assert.False((await client.Locks.ValidateFencingTokenAsync("fenced", staleToken)).Valid);
        }
    }

    private static int AttemptOf(string line) =>
        line.Split(' ') is [_, var attempt, ..] && int.TryParse(attempt, CultureInfo.InvariantCulture, out int i) ? i : -1;
}
