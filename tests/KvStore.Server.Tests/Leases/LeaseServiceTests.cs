using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using KvStore.Server.Leases;
using KvStore.Server.Mvcc;
using KvStore.Server.Protos;
using KvStore.Storage.IO;

namespace KvStore.Server.Tests.Leases;

/// <summary>
/// The leader's lease service on a manual clock, proposing straight into a state machine:
/// expiry, renewals, takeover by a new leader, and which leases get checkpointed.
/// </summary>
public sealed class LeaseServiceTests : IAsyncLifetime
{
    private static readonly TimeSpan ElectionTimeout = TimeSpan.FromSeconds(1);

    private readonly KvStateMachine _machine = KvStateMachine.Open("/db", new FaultInjectingFileSystem());
    private readonly ManualClock _clock = new();
    private readonly DirectLeaseProposer _raft;
    private readonly LeaseService _service;

    public LeaseServiceTests()
    {
        _raft = new DirectLeaseProposer(_machine, _clock);
        _service = new LeaseService(_machine, _raft, new LeaseServiceOptions { Clock = _clock, ElectionTimeout = ElectionTimeout });
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        _machine.Dispose();
    }

    [Fact]
    public async Task ALeaseExpiresAtItsTtlAndItsKeysAreDeleted()
    {
        await StepAsync();
        long lease = await GrantAsync(5);
        await PutAsync("lock/a", lease);

        await RunForAsync(TimeSpan.FromMilliseconds(4_900));
        Assert.True(_machine.Leases.Exists(lease));

        await RunForAsync(TimeSpan.FromMilliseconds(200));
        Assert.False(_machine.Leases.Exists(lease));
        Assert.True(_machine.Leases.TryGetEnd(lease, out bool expired, out _));
        Assert.True(expired);
        Assert.Equal(0, _machine.Store.State.KeyCount);
    }

    [Fact]
    public async Task KeepAliveRenewsFromNowAndAnswersTheGrantedTtl()
    {
        await StepAsync();
        long lease = await GrantAsync(5);
        await RunForAsync(TimeSpan.FromSeconds(4));

        IReadOnlyList<LeaseKeepAliveResult>? results = _service.KeepAlive([lease, 999]);

        Assert.Equal([(lease, 5L), (999L, 0L)], results!.Select(r => (r.Id, r.TtlSeconds)));
        await RunForAsync(TimeSpan.FromSeconds(4.5));
        Assert.True(_machine.Leases.Exists(lease));
        Assert.InRange(_service.RemainingMs(lease)!.Value, 400, 600);
        await RunForAsync(TimeSpan.FromSeconds(1));
        Assert.False(_machine.Leases.Exists(lease));
        Assert.Equal(0, _service.KeepAlive([lease])![0].TtlSeconds);
        Assert.Equal(-1, _service.RemainingMs(lease));
    }

    [Fact]
    public async Task AFollowerAnswersNothingAndExpiresNothing()
    {
        _raft.IsLeader = false;
        long lease = await GrantAsync(5);

        await RunForAsync(TimeSpan.FromSeconds(20));

        Assert.Null(_service.KeepAlive([lease]));
        Assert.Null(_service.RemainingMs(lease));
        Assert.False(_service.IsActive);
        Assert.True(_machine.Leases.Exists(lease));
    }

    [Fact]
    public async Task ANewLeaderGrantsTheRecordPlusOneElectionTimeoutAndChargesTheRecord()
    {
        await StepAsync();
        long lease = await GrantAsync(10);
        await RunForAsync(TimeSpan.FromSeconds(7));

        // 7 s unrenewed: past half the TTL the record follows the truth (3 s left).
        Assert.InRange(_machine.Leases.CheckpointedRemainingMs(lease)!.Value, 3_000, 4_000);
        long recorded = _machine.Leases.CheckpointedRemainingMs(lease)!.Value;

        _raft.IsLeader = false;
        await StepAsync();
        _raft.IsLeader = true;
        _raft.Term = 2;
        _clock.Advance(TimeSpan.FromSeconds(5));
        await StepAsync();

        Assert.Equal(recorded + 1_000, _service.RemainingMs(lease));
        Assert.Equal(recorded - 1_000, _machine.Leases.CheckpointedRemainingMs(lease));
        await RunForAsync(TimeSpan.FromMilliseconds(recorded + 1_100));
        Assert.False(_machine.Leases.Exists(lease));
    }

    [Fact]
    public async Task LeadersThatKeepFailingOverNeverKeepAnAbandonedLeaseAlive()
    {
        await StepAsync();
        long lease = await GrantAsync(10);

        // Each leader lives 800 ms — too short to checkpoint on its own — then an election follows.
        TimeSpan elapsed = TimeSpan.Zero;
        while (true)
        {
            await RunForAsync(TimeSpan.FromMilliseconds(800));
            if (!_machine.Leases.Exists(lease))
            {
                break;
            }

            _raft.IsLeader = false;
            await StepAsync();
            _clock.Advance(ElectionTimeout);
            _raft.IsLeader = true;
            _raft.Term++;
            await StepAsync();
            elapsed += TimeSpan.FromMilliseconds(800) + ElectionTimeout;
            Assert.True(elapsed < TimeSpan.FromSeconds(60), $"lease still alive after {elapsed} of failovers");
        }

        // Every takeover charges one election timeout to the record (10 takeovers use up the 10 s
        // TTL), and the leader after the record reached 0 gives no grace.
        Assert.InRange(_raft.Term, 2, 12);
    }

    [Fact]
    public async Task LeasesRenewedEveryThirdOfTheirTtlAreNeverCheckpointed()
    {
        await StepAsync();
        var leases = new List<long>();
        for (int i = 0; i < 50; i++)
        {
            leases.Add(await GrantAsync(6));
        }

        for (int round = 0; round < 30; round++)
        {
            await RunForAsync(TimeSpan.FromSeconds(2));
            Assert.All(_service.KeepAlive(leases)!, r => Assert.Equal(6, r.TtlSeconds));
        }

        Assert.Empty(_raft.Checkpoints());
        Assert.All(leases, id => Assert.True(_machine.Leases.Exists(id)));
    }

    [Fact]
    public async Task AfterTakeoversARenewedLeaseIsRaisedOnceAndThenLeftAlone()
    {
        await StepAsync();
        long lease = await GrantAsync(6);
        _raft.Term = 2;
        await StepAsync();
        _raft.Term = 3;
        await StepAsync();
        Assert.Equal(4_000, _machine.Leases.CheckpointedRemainingMs(lease));

        for (int round = 0; round < 10; round++)
        {
            _service.KeepAlive([lease]);
            await RunForAsync(TimeSpan.FromSeconds(2));
        }

        Assert.Equal(3, _raft.Checkpoints().Count);
        Assert.InRange(_machine.Leases.CheckpointedRemainingMs(lease)!.Value, 5_900, 6_000);
    }

    [Fact]
    public async Task GrantsAppliedWhileANewLeaderLoadsAreTimed()
    {
        _raft.IsLeader = false;
        await StepAsync();
        long before = await GrantAsync(5);
        _raft.IsLeader = true;
        await StepAsync();
        long after = await GrantAsync(5);

        Assert.Equal(6_000, _service.RemainingMs(before));
        Assert.Equal(5_000, _service.RemainingMs(after));
        await RunForAsync(TimeSpan.FromMilliseconds(5_100));
        Assert.False(_machine.Leases.Exists(after));
        Assert.True(_machine.Leases.Exists(before));
        await RunForAsync(TimeSpan.FromSeconds(1));
        Assert.False(_machine.Leases.Exists(before));
    }

    [Fact]
    public async Task TheLeaderDropsRecordsOfLeasesEndedAnHourAgo()
    {
        await StepAsync();
        long lease = await GrantAsync(5);
        await RunForAsync(TimeSpan.FromSeconds(6));
        Assert.True(_machine.Leases.TryGetEnd(lease, out bool expired, out _));
        Assert.True(expired);

        _clock.Advance(TimeSpan.FromHours(1));
        await RunForAsync(TimeSpan.FromMinutes(1.1));

        Assert.Null(_machine.Leases.Find(lease));
    }

    private Task StepAsync() => _service.StepAsync(CancellationToken.None);

    /// <summary>Advances the clock in poll-sized steps, running the service after each.</summary>
    private async Task RunForAsync(TimeSpan duration)
    {
        var step = TimeSpan.FromMilliseconds(50);
        for (TimeSpan t = TimeSpan.Zero; t < duration; t += step)
        {
            _clock.Advance(step);
            await StepAsync();
            await _service.CheckpointsSettled;
        }
    }

    private async Task<long> GrantAsync(long ttlSeconds) =>
        Assert.IsType<LeaseGrantResponse>(await _raft.ProposeAsync(new KvCommand { LeaseGrant = new LeaseGrantRequest { TtlSeconds = ttlSeconds } }, CancellationToken.None)).Id;

    private async Task PutAsync(string key, long lease) =>
        Assert.IsType<PutResponse>(await _raft.ProposeAsync(new KvCommand { Put = new PutRequest { Key = ByteString.CopyFromUtf8(key), Lease = lease } }, CancellationToken.None));
}
