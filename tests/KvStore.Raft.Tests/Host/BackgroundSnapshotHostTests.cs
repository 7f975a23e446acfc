using System.Text;
using KvStore.Raft.Core;
using KvStore.Raft.Host;

namespace KvStore.Raft.Tests.Host;

/// <summary>
/// A local snapshot is serialized off the host's loop thread: proposals keep committing while it is built,
/// and it is saved (and the log compacted) once it is ready, as of the index it was captured at.
/// </summary>
public sealed class BackgroundSnapshotHostTests
{
    private const ulong Group = 1;

    [Fact]
    public async Task Proposals_commit_while_a_snapshot_is_being_serialized_and_the_snapshot_is_saved_afterwards()
    {
        var machines = new Dictionary<ulong, GatedSnapshotStateMachine>();
        using var cluster = new HostCluster(3, id => HostCluster.DefaultOptions(id) with { SnapshotEveryEntries = 10, CompactionRetainEntries = 2 });
        try
        {
            await ProposeWhileSerializingAsync(cluster, machines);
        }
        finally
        {
            // Followers snapshot too; a host waits for its builds when it stops.
            foreach (var m in machines.Values)
            {
                m.ReleaseSerialization();
            }
        }
    }

    private static async Task ProposeWhileSerializingAsync(HostCluster cluster, Dictionary<ulong, GatedSnapshotStateMachine> machines)
    {
        foreach (ulong id in cluster.NodeIds)
        {
            machines[id] = new GatedSnapshotStateMachine();
            await HostCluster.Within(cluster.Host(id).AddGroupAsync(Group, cluster.Voters, machines[id]));
        }

        await cluster.ElectAsync(Group, 1);
        var leader = cluster.Host(1);
        var machine = machines[1];
        for (int i = 0; i < 12; i++)
        {
            await HostCluster.Within(leader.ProposeAsync(Group, Encoding.UTF8.GetBytes($"before-{i}")));
        }

        long capturedAt = await HostCluster.Within(machine.FirstCapture.Task);
        Assert.Equal(0, cluster.Snapshots[1].Load(Group)!.Metadata.Index);

        // The serialization is blocked, yet the loop goes on committing and applying.
        for (int i = 0; i < 5; i++)
        {
            await HostCluster.Within(leader.ProposeAsync(Group, Encoding.UTF8.GetBytes($"during-{i}")));
        }

        Assert.Equal(0, cluster.Snapshots[1].Load(Group)!.Metadata.Index);

        machine.ReleaseSerialization();
        await HostCluster.WaitUntilAsync(() => cluster.Snapshots[1].Load(Group)!.Metadata.Index >= capturedAt, "the snapshot to be saved");
        var saved = cluster.Snapshots[1].Load(Group)!;
        Assert.Equal(capturedAt, saved.Metadata.Index);
        // The bytes are the state as of the capture, not of the later applies.
        Assert.Equal(capturedAt.ToString(System.Globalization.CultureInfo.InvariantCulture), Encoding.UTF8.GetString(saved.Data.Span));
        await HostCluster.WaitUntilAsync(() => cluster.Stores[1].FirstIndex(Group) == capturedAt - 2 + 1, "the log to be compacted to the snapshot");
    }

    /// <summary>Its state is the applied index; its snapshot serialization waits for the test to release it.</summary>
    private sealed class GatedSnapshotStateMachine : IStateMachine
    {
        private readonly ManualResetEventSlim _release = new(false);
        private long _applied;

        public TaskCompletionSource<long> FirstCapture { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long AppliedIndex => Volatile.Read(ref _applied);

        public void ReleaseSerialization() => _release.Set();

        public IReadOnlyList<object?> Apply(IReadOnlyList<Entry> entries)
        {
            Volatile.Write(ref _applied, entries[^1].Index);
            return entries.Where(e => e.Type == EntryType.Normal).Select(_ => (object?)null).ToList();
        }

        public ReadOnlyMemory<byte> TakeSnapshot() => CaptureSnapshot()();

        public Func<ReadOnlyMemory<byte>> CaptureSnapshot()
        {
            long captured = AppliedIndex;
            FirstCapture.TrySetResult(captured);
            return () =>
            {
                _release.Wait(TimeSpan.FromSeconds(30));
                return Encoding.UTF8.GetBytes(captured.ToString(System.Globalization.CultureInfo.InvariantCulture));
            };
        }

        public void Restore(Snapshot snapshot) => Volatile.Write(ref _applied, snapshot.Metadata.Index);
    }
}
