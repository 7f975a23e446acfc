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
/// The grant the leader's lock service puts into an explicit unlock
/// (<see cref="LockService.HandOffGrant"/>), on a one-node Raft host in memory: only for the
/// holder's key, only for the first waiter and only if its lease is alive; the unlock carrying it
/// wakes that waiter as granted.
/// </summary>
public sealed class LockServiceHandOffTests : IAsyncDisposable
{
    private const ulong Group = 1;
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    private readonly ManualClock _clock = new();
    private readonly DeadLeases _leases = new();
    private readonly KvStateMachine _machine = KvStateMachine.Open("/db", new FaultInjectingFileSystem());
    private readonly InMemoryTransport _transport = new(seed: 1);
    private readonly RaftHost _host;
    private readonly LockService _service;

    public LockServiceHandOffTests()
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
    public async Task The_holders_unlock_carries_the_first_waiters_grant_and_wakes_it()
    {
        await StartAsync();
        LockEnqueueResult holder = await EnqueueAsync(lease: 1);
        Assert.Equal(LockWaitOutcome.Granted, await Wait(holder).Outcome.WaitAsync(HangGuard));
        LockEnqueueResult next = await EnqueueAsync(lease: 2);
        LockEnqueueResult last = await EnqueueAsync(lease: 3);

        LockGrant? grant = _service.HandOffGrant(holder.Key);

        Assert.NotNull(grant);
        Assert.Equal(next.Key, grant.Key);
        Assert.Equal(next.CreateRevision, grant.CreateRevision);
        Assert.Null(_service.HandOffGrant(last.Key));
        LockWaiter waiter = Wait(next);
        await ProposeAsync(new KvCommand { LockUnlock = new LockUnlock { Key = holder.Key, Next = grant } });
        Assert.Equal(LockWaitOutcome.Granted, await waiter.Outcome.WaitAsync(HangGuard));
        Assert.Equal(next.CreateRevision, LockTable.ReadHolder(_machine.Store, "L"u8).Holder!.CreateRevision);
    }

    [Fact]
    public async Task No_grant_is_carried_when_the_first_waiters_lease_is_dead()
    {
        await StartAsync();
        LockEnqueueResult holder = await EnqueueAsync(lease: 1);
        Assert.Equal(LockWaitOutcome.Granted, await Wait(holder).Outcome.WaitAsync(HangGuard));
        await EnqueueAsync(lease: 2);
        await EnqueueAsync(lease: 3);
        lock (_leases.Dead)
        {
            _leases.Dead.Add(2);
        }

        Assert.Null(_service.HandOffGrant(holder.Key));
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

    private sealed class DeadLeases : ILeaseLiveness
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
