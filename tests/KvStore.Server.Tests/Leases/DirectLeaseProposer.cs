using KvStore.Server.Leases;
using KvStore.Server.Mvcc;
using KvStore.Server.Protos;

namespace KvStore.Server.Tests.Leases;

/// <summary>A "Raft group" of one state machine: proposals apply at once, stamped with the test clock; leadership is set by the test.</summary>
internal sealed class DirectLeaseProposer(KvStateMachine machine, ManualClock clock) : ILeaseProposer
{
    private readonly object _applying = new();

    public bool IsLeader { get; set; } = true;

    public long Term { get; set; } = 1;

    public List<KvCommand> Proposed { get; } = [];

    public (bool IsLeader, long Term) Leadership => (IsLeader, Term);

    public Task<object?> ProposeAsync(KvCommand command, CancellationToken cancellationToken)
    {
        lock (_applying)
        {
            command.IssuedAtUnixMs = clock.GetUtcNow().ToUnixTimeMilliseconds();
            Proposed.Add(command.Clone());
            return Task.FromResult<object?>(machine.ApplyCommand(command));
        }
    }

    /// <summary>The checkpoints proposed so far (barriers excluded).</summary>
    public List<LeaseCheckpoint> Checkpoints() =>
        Proposed.Where(c => c.OpCase == KvCommand.OpOneofCase.LeaseCheckpoint).SelectMany(c => c.LeaseCheckpoint.Checkpoints).ToList();
}
