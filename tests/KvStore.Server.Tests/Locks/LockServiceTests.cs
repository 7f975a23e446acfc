using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using KvStore.Raft.Core;
using KvStore.Raft.Host;
using KvStore.Server.Locks;
using KvStore.Server.Mvcc;
using KvStore.Server.Protos;
using KvStore.Server.Tests.Leases;
using KvStore.Storage.IO;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvStore.Server.Tests.Locks;

/// <summary>
/// The leader's lock service on a one-node Raft host in memory, with a manual clock and scripted
/// lease knowledge: whom it grants, and when.
/// </summary>
public sealed class LockServiceTests : IAsyncDisposable
{
    private const ulong Group = 1;
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    private readonly ManualClock _clock = new();
    private readonly ScriptedLeases _leases = new();
    private readonly KvStateMachine _machine = KvStateMachine.Open("/db", new FaultInjectingFileSystem());
    private readonly InMemoryTransport _transport = new(seed: 1);
    private readonly RaftHost _host;
    private readonly LockService _service;

    public LockServiceTests()
    {
        _host = new RaftHost(
            new RaftHostOptions { NodeId = 1, TickInterval = TimeSpan.FromMilliseconds(5), GroupConfig = new RaftConfig { Id = 1, ElectionTick = 10, HeartbeatTick = 1 } },
            new InMemoryRaftLogStore(),
            new InMemorySnapshotStore(),
            _transport.Connect(1));
        _service = new LockService(_host, Group, _machine, _leases, _clock, NullLogger.Instance);
    }

    public async ValueTask DisposeAsync()
    {
        await _service.DisposeAsync();
        _host.Dispose();
        _machine.Dispose();
    }

    [Fact]
    public async Task A_waiter_whose_lease_the_leader_knows_dead_is_skipped_and_overtaken()
    {
        await StartAsync();
        _leases.Dead.Add(1);
        LockEnqueueResult dead = await EnqueueAsync(lease: 1);
        LockEnqueueResult alive = await EnqueueAsync(lease: 2);

        LockWaiter deadWaiter = Wait(dead);
        LockWaiter aliveWaiter = Wait(alive);

        Assert.Equal(LockWaitOutcome.Granted, await aliveWaiter.Outcome.WaitAsync(HangGuard));
        Assert.Equal(LockWaitOutcome.Overtaken, await deadWaiter.Outcome.WaitAsync(HangGuard));
        Assert.Equal(alive.CreateRevision, LockTable.ReadHolder(_machine.Store, "L"u8).Holder!.CreateRevision);
    }

    [Fact]
    public async Task Waiters_are_granted_first_come_first_served_as_holders_release()
    {
        await StartAsync();
        var queued = new List<LockEnqueueResult>();
        for (long lease = 1; lease <= 4; lease++)
        {
            queued.Add(await EnqueueAsync(lease));
        }

        var order = new List<long>();
        foreach (LockEnqueueResult waiter in queued)
        {
            Assert.Equal(LockWaitOutcome.Granted, await Wait(waiter).Outcome.WaitAsync(HangGuard));
            order.Add(LockTable.ReadHolder(_machine.Store, "L"u8).Holder!.CreateRevision);
            await ProposeAsync(new KvCommand { LockUnlock = new LockUnlock { Key = waiter.Key } });
        }

        Assert.Equal(queued.Select(w => w.CreateRevision), order);
    }

    [Fact]
    public async Task After_a_holders_lease_expires_the_lock_is_granted_again_only_once_its_lock_delay_has_passed()
    {
        await StartAsync();
        using IDisposable declared = _service.DeclareLockDelay(WaiterKeys.For("L"u8, 1), 60_000);
        LockEnqueueResult first = await EnqueueAsync(lease: 1);
        LockWaiter firstWaiter = _service.AddWaiter("L"u8.ToArray(), first.Key.ToByteArray(), first.CreateRevision, lockDelayMs: 60_000);
        Assert.Equal(LockWaitOutcome.Granted, await firstWaiter.Outcome.WaitAsync(HangGuard));
        _service.RemoveWaiter(firstWaiter);
        LockEnqueueResult second = await EnqueueAsync(lease: 2);
        LockWaiter secondWaiter = Wait(second);

        await ProposeAsync(new KvCommand { LeaseRevoke = new LeaseRevokeCommand { Id = 1, Expired = true } });
        _clock.Advance(TimeSpan.FromSeconds(59));
        LockEnqueueResult probe = await EnqueueAsync(lease: 3);

        // The service has seen the release (and the probe's enqueue after it) with 1 s of delay left: no grant.
        await WaitEvaluatedAsync(probe);
        Assert.False(secondWaiter.Outcome.IsCompleted, $"the second waiter ended early ({secondWaiter.Detail}); record {LockTable.Read(_machine.Store, "L"u8)}");
        Assert.Null(LockTable.ReadHolder(_machine.Store, "L"u8).Holder);

        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(LockWaitOutcome.Granted, await secondWaiter.Outcome.WaitAsync(HangGuard));
    }

    [Fact]
    public async Task An_unlocked_holder_hands_the_lock_on_at_once_whatever_its_lock_delay()
    {
        await StartAsync();
        using IDisposable declared = _service.DeclareLockDelay(WaiterKeys.For("L"u8, 1), 60_000);
        LockEnqueueResult first = await EnqueueAsync(lease: 1);
        LockWaiter firstWaiter = _service.AddWaiter("L"u8.ToArray(), first.Key.ToByteArray(), first.CreateRevision, lockDelayMs: 60_000);
        Assert.Equal(LockWaitOutcome.Granted, await firstWaiter.Outcome.WaitAsync(HangGuard));
        LockEnqueueResult second = await EnqueueAsync(lease: 2);
        Assert.Equal(60_000, LockTable.Read(_machine.Store, "L"u8)!.LockDelayMs);

        await ProposeAsync(new KvCommand { LeaseRevoke = new LeaseRevokeCommand { Id = 1, Expired = false } });

        Assert.Equal(LockWaitOutcome.Granted, await Wait(second).Outcome.WaitAsync(HangGuard));
    }

    private async Task StartAsync()
    {
        _host.Start();
        await _host.AddGroupAsync(Group, [1], _machine).WaitAsync(HangGuard);
        DateTime deadline = DateTime.UtcNow + HangGuard;
        while (_host.GetStatus(Group).Role != RaftRole.Leader)
        {
            Assert.True(DateTime.UtcNow < deadline, "the one-node group elected no leader");
            await Task.Delay(10);
        }

        _service.Start();
    }

    private LockWaiter Wait(LockEnqueueResult queued) =>
        _service.AddWaiter("L"u8.ToArray(), queued.Key.ToByteArray(), queued.CreateRevision, lockDelayMs: 0);

    /// <summary>Waits until the service has evaluated the lock at or after <paramref name="probe"/>'s enqueue (its waiter resolved or still queued).</summary>
    private async Task WaitEvaluatedAsync(LockEnqueueResult probe)
    {
        // A waiter on a key that is then removed ends as Gone only once an evaluation has seen the removal.
        LockWaiter waiter = Wait(probe);
        await ProposeAsync(new KvCommand { LockUnlock = new LockUnlock { Key = probe.Key } });
        Assert.Equal(LockWaitOutcome.Gone, await waiter.Outcome.WaitAsync(HangGuard));
    }

    private async Task<LockEnqueueResult> EnqueueAsync(long lease)
    {
        await ProposeAsync(new KvCommand { LeaseGrant = new LeaseGrantRequest { Id = lease, TtlSeconds = 60 } });
        return Assert.IsType<LockEnqueueResult>(await ProposeAsync(new KvCommand { LockEnqueue = new LockEnqueue { Name = ByteString.CopyFromUtf8("L"), Lease = lease } }));
    }

    private async Task<object?> ProposeAsync(KvCommand command)
    {
        command.IssuedAtUnixMs = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        return await _host.ProposeAsync(Group, command.ToByteArray()).WaitAsync(HangGuard);
    }

    private sealed class ScriptedLeases : ILeaseLiveness
    {
        public HashSet<long> Dead { get; } = [];

        public bool IsAlive(long lease)
        {
            lock (Dead)
            {
                return !Dead.Contains(lease);
            }
        }
    }
}
