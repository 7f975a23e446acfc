using KvStore.Client;
using KvStore.Client.Recipes;
using KvStore.Server.Tests.Leases;

namespace KvStore.Server.Tests.Recipes;

/// <summary>The SDK recipes against a real node, with several clients contending as separate processes would.</summary>
public sealed class RecipeTests(SoloNodeFixture fixture) : IClassFixture<SoloNodeFixture>
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AWriterExcludesEveryoneWhileReadersShare()
    {
        await using var clients = await ClientsAsync(4);

        // Two readers hold at once (the second is granted while the first still holds) ...
        QueueHold firstReader = await new DistributedReadWriteLock(clients[0].Client, "recipes/rw").AcquireReadAsync(clients[0].Lease.Id).WaitAsync(Patience);
        QueueHold secondReader = await new DistributedReadWriteLock(clients[1].Client, "recipes/rw").AcquireReadAsync(clients[1].Lease.Id).WaitAsync(Patience);
        Task<QueueHold> writer = new DistributedReadWriteLock(clients[2].Client, "recipes/rw").AcquireWriteAsync(clients[2].Lease.Id);
        await firstReader.ReleaseAsync();
        await Task.Delay(300);
        Assert.False(writer.IsCompleted, "a writer was granted while a reader still held the lock");

        // ... and a writer gets in once the last of them leaves.
        await secondReader.ReleaseAsync();
        await (await writer.WaitAsync(Patience)).ReleaseAsync();

        int readers = 0, writers = 0, maxReaders = 0;
        var violations = new List<string>();
        async Task Reader(Contender c)
        {
            var rw = new DistributedReadWriteLock(c.Client, "recipes/rw");
            for (int i = 0; i < 3; i++)
            {
                await using QueueHold hold = await rw.AcquireReadAsync(c.Lease.Id);
                int now = Interlocked.Increment(ref readers);
                InterlockedMax(ref maxReaders, now);
                if (Volatile.Read(ref writers) != 0)
                {
                    lock (violations) { violations.Add("a reader held alongside a writer"); }
                }

                await Task.Delay(150);
                Interlocked.Decrement(ref readers);
            }
        }

        async Task Writer(Contender c)
        {
            var rw = new DistributedReadWriteLock(c.Client, "recipes/rw");
            for (int i = 0; i < 3; i++)
            {
                await using QueueHold hold = await rw.AcquireWriteAsync(c.Lease.Id);
                if (Interlocked.Increment(ref writers) != 1 || Volatile.Read(ref readers) != 0)
                {
                    lock (violations) { violations.Add("a writer held alongside another holder"); }
                }

                TxnResult fenced = await c.Client.Txn().If(hold.Fence).Then(Op.Put("recipes/rw-data", c.Name)).CommitAsync();
                Assert.True(fenced.Succeeded, "a writer's fenced write was refused while it held the lock");
                await Task.Delay(50);
                Interlocked.Decrement(ref writers);
            }
        }

        await Task.WhenAll(Reader(clients[0]), Reader(clients[1]), Writer(clients[2]), Writer(clients[3])).WaitAsync(Patience);

        Assert.Empty(violations);
        Assert.InRange(maxReaders, 1, 2);
    }

    [Fact]
    public async Task AWriteHoldWhoseLeaseEndedHasItsFencedWritesRefused()
    {
        await using var clients = await ClientsAsync(2);
        var rw = new DistributedReadWriteLock(clients[0].Client, "recipes/rw-fence");
        QueueHold first = await rw.AcquireWriteAsync(clients[0].Lease.Id);
        Task<QueueHold> second = new DistributedReadWriteLock(clients[1].Client, "recipes/rw-fence").AcquireWriteAsync(clients[1].Lease.Id);

        await clients[0].Lease.RevokeAsync();
        await using QueueHold next = await second.WaitAsync(Patience);

        Assert.True(next.FencingToken > first.FencingToken);
        Assert.False((await clients[0].Client.Txn().If(first.Fence).Then(Op.Put("recipes/rw-fence-data", "stale")).CommitAsync()).Succeeded);
        Assert.True((await clients[1].Client.Txn().If(next.Fence).Then(Op.Put("recipes/rw-fence-data", "fresh")).CommitAsync()).Succeeded);
        Assert.Equal("fresh", (await fixture.Client.GetAsync("recipes/rw-fence-data"))!.ValueString);
    }

    [Fact]
    public async Task ASemaphoreNeverHasMoreHoldersThanPermits()
    {
        await using var clients = await ClientsAsync(6);
        int holders = 0, maxHolders = 0, acquisitions = 0;
        await Task.WhenAll(clients.Select(async c =>
        {
            var semaphore = new DistributedSemaphore(c.Client, "recipes/sem", permits: 2);
            for (int i = 0; i < 3; i++)
            {
                await using QueueHold permit = await semaphore.AcquireAsync(c.Lease.Id);
                InterlockedMax(ref maxHolders, Interlocked.Increment(ref holders));
                Interlocked.Increment(ref acquisitions);
                await Task.Delay(100);
                Interlocked.Decrement(ref holders);
            }
        })).WaitAsync(Patience);

        Assert.Equal(18, acquisitions);
        Assert.InRange(maxHolders, 1, 2);
        Assert.Equal(0, await new DistributedSemaphore(fixture.Client, "recipes/sem", 2).CountAsync());
    }

    [Fact]
    public async Task ABarrierHoldsEveryWaiterUntilItIsReleased()
    {
        var barrier = new DistributedBarrier(fixture.Client, "recipes/barrier");
        await barrier.HoldAsync();
        await using var clients = await ClientsAsync(3);
        Task[] waiters = clients.Select(c => new DistributedBarrier(c.Client, "recipes/barrier").WaitAsync()).ToArray();

        await Task.Delay(500);
        Assert.DoesNotContain(waiters, w => w.IsCompleted);

        await barrier.ReleaseAsync();
        await Task.WhenAll(waiters).WaitAsync(Patience);
        await new DistributedBarrier(fixture.Client, "recipes/barrier").WaitAsync().WaitAsync(Patience);
    }

    [Fact]
    public async Task ADoubleBarrierLetsEveryoneInOnlyOnceAllEnteredAndOutOnlyOnceAllLeft()
    {
        await using var clients = await ClientsAsync(3);
        DistributedDoubleBarrier[] handles = clients.Select(c => new DistributedDoubleBarrier(c.Client, "recipes/double", count: 3)).ToArray();

        Task[] entering = [handles[0].EnterAsync(clients[0].Lease.Id), handles[1].EnterAsync(clients[1].Lease.Id)];
        await Task.Delay(500);
        Assert.DoesNotContain(entering, t => t.IsCompleted);
        await handles[2].EnterAsync(clients[2].Lease.Id).WaitAsync(Patience);
        await Task.WhenAll(entering).WaitAsync(Patience);

        Task[] leaving = [handles[1].LeaveAsync(), handles[2].LeaveAsync()];
        await Task.Delay(500);
        Assert.DoesNotContain(leaving, t => t.IsCompleted);
        await handles[0].LeaveAsync().WaitAsync(Patience);
        await Task.WhenAll(leaving).WaitAsync(Patience);
        Assert.Equal(0, (await fixture.Client.RangeAsync(RangeOptions.ForPrefix("recipes/double/") with { CountOnly = true })).Count);
    }

    [Fact]
    public async Task ConcurrentIncrementsEndExactlyAtTheirNumber()
    {
        await using var clients = await ClientsAsync(4);
        var returned = new List<long>();
        await Task.WhenAll(clients.Select(async c =>
        {
            var counter = new AtomicCounter(c.Client, "recipes/counter");
            for (int i = 0; i < 25; i++)
            {
                long value = await counter.IncrementAsync();
                lock (returned) { returned.Add(value); }
            }
        })).WaitAsync(Patience);

        Assert.Equal(100, await new AtomicCounter(fixture.Client, "recipes/counter").GetAsync());
        Assert.Equal(Enumerable.Range(1, 100).Select(v => (long)v), returned.Order());
        Assert.Equal(98, await new AtomicCounter(fixture.Client, "recipes/counter").AddAsync(-2));
    }

    [Fact]
    public async Task ACounterKeyHoldingTextIsReportedNotOverwritten()
    {
        await fixture.Client.PutAsync("recipes/not-a-counter", "twelve");
        var error = await Assert.ThrowsAsync<FormatException>(() => new AtomicCounter(fixture.Client, "recipes/not-a-counter").IncrementAsync());
        Assert.Contains("recipes/not-a-counter", error.Message);
        Assert.Equal("twelve", (await fixture.Client.GetAsync("recipes/not-a-counter"))!.ValueString);
    }

    [Fact]
    public async Task LeadershipPassesOnResignAndTheDeposedLeadersFencedWritesAreRefused()
    {
        await using var clients = await ClientsAsync(2);
        var options = new LeaderElectionOptions { LeaseTtl = Ttl };
        await using var a = new LeaderElection(clients[0].Client, "recipes/election", "a", options);
        await using var b = new LeaderElection(clients[1].Client, "recipes/election", "b", options);
        var bChanges = new List<LeadershipChange>();
        b.LeadershipChanged += (_, change) => { lock (bChanges) { bChanges.Add(change); } };
        using var timeout = new CancellationTokenSource(Patience);
        await using IAsyncEnumerator<LeadershipChange> aChanges = a.ChangesAsync(timeout.Token).GetAsyncEnumerator(timeout.Token);
        Assert.True(await aChanges.MoveNextAsync());
        Assert.False(aChanges.Current.IsLeader);

        a.Start();
        Assert.True(await aChanges.MoveNextAsync());
        Assert.True(aChanges.Current.IsLeader);
        Assert.True(a.IsLeader);
        TxnCondition aFence = a.Fence!;
        long aToken = a.FencingToken;
        b.Start();
        Assert.Equal("a", (await fixture.Client.Elections.LeaderAsync("recipes/election"))!.ValueString);

        await a.ResignAsync();
        Assert.False(a.IsLeader);
        while (!b.IsLeader)
        {
            await Task.Delay(50, timeout.Token);
        }

        Assert.True(b.FencingToken > aToken);
        Assert.Equal("b", (await fixture.Client.Elections.LeaderAsync("recipes/election"))!.ValueString);
        Assert.False((await clients[0].Client.Txn().If(aFence).Then(Op.Put("recipes/election-data", "a")).CommitAsync()).Succeeded);
        Assert.True((await clients[1].Client.Txn().If(b.Fence!).Then(Op.Put("recipes/election-data", "b")).CommitAsync()).Succeeded);
        lock (bChanges)
        {
            Assert.Equal([true], bChanges.Select(c => c.IsLeader));
        }
    }

    [Fact]
    public async Task ALeaderWhoseLeaseIsRevokedReportsTheLossAndCampaignsAgain()
    {
        await using var clients = await ClientsAsync(1);
        await using var candidate = new LeaderElection(clients[0].Client, "recipes/election-loss", "x", new LeaderElectionOptions { LeaseTtl = Ttl });
        using var timeout = new CancellationTokenSource(Patience);
        await using IAsyncEnumerator<LeadershipChange> changes = candidate.ChangesAsync(timeout.Token).GetAsyncEnumerator(timeout.Token);
        candidate.Start();
        await changes.MoveNextAsync();
        while (!changes.Current.IsLeader)
        {
            Assert.True(await changes.MoveNextAsync());
        }

        LeadershipChange first = changes.Current;
        await fixture.Client.Leases.RevokeAsync(first.Leader!.Lease);

        Assert.True(await changes.MoveNextAsync());
        Assert.False(changes.Current.IsLeader);
        Assert.True(await changes.MoveNextAsync());
        Assert.True(changes.Current.IsLeader);
        Assert.True(changes.Current.FencingToken > first.FencingToken);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen = Volatile.Read(ref target);
        while (value > seen && Interlocked.CompareExchange(ref target, value, seen) is var actual && actual != seen)
        {
            seen = actual;
        }
    }

    private async Task<ContenderSet> ClientsAsync(int count)
    {
        var set = new ContenderSet();
        for (int i = 0; i < count; i++)
        {
            var client = new KvStoreClient(new KvStoreClientOptions { Endpoints = fixture.Client.Endpoints.ToArray(), RequestTimeout = TimeSpan.FromSeconds(20) });
            set.Add(new Contender("c" + i, client, await client.Leases.GrantAsync(Ttl)));
        }

        return set;
    }

    private sealed record Contender(string Name, KvStoreClient Client, Lease Lease);

    /// <summary>Independent clients, each with a kept-alive lease, as separate processes would have.</summary>
    private sealed class ContenderSet : List<Contender>, IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            foreach (Contender c in this)
            {
                await c.Lease.DisposeAsync();
                await c.Client.DisposeAsync();
            }
        }
    }
}
