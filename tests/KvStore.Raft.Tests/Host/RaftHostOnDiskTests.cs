using System.Text;
using KvStore.Raft.Core;
using KvStore.Raft.Host;
using KvStore.Storage.IO;
using KvStore.Storage.Log;

namespace KvStore.Raft.Tests.Host;

/// <summary>The host on the real log store: one node keeps its log and snapshots on a disk that loses power.</summary>
public sealed class RaftHostOnDiskTests
{
    private const ulong Group = 4;

    [Fact]
    public async Task A_node_on_the_segmented_log_store_recovers_after_power_loss_and_catches_up()
    {
        var transport = new InMemoryTransport();
        var disk = new FaultInjectingFileSystem();
        var machines = new Dictionary<ulong, CommandLogStateMachine>();
        var hosts = new Dictionary<ulong, RaftHost>();
        var endpoints = new Dictionary<ulong, IRaftTransport>();
        var memoryStores = new Dictionary<ulong, IRaftLogStore>();
        var memorySnapshots = new Dictionary<ulong, ISnapshotStore>();
        IRaftLogStore diskLog = SegmentedLogStore.Open(disk, "/n3/log");
        var diskSnapshots = new FileSnapshotStore(disk, "/n3/snapshots");

        async Task StartAsync(ulong id)
        {
            var (log, snapshots) = id == 3 ? (diskLog, (ISnapshotStore)diskSnapshots) : (memoryStores[id], memorySnapshots[id]);
            endpoints[id] = transport.Connect(id);
            hosts[id] = new RaftHost(HostCluster.DefaultOptions(id) with { SnapshotEveryEntries = 10, CompactionRetainEntries = 3 }, log, snapshots, endpoints[id]);
            hosts[id].Start();
            machines[id] = new CommandLogStateMachine();
            await HostCluster.Within(hosts[id].AddGroupAsync(Group, [1, 2, 3], machines[id]));
        }

        try
        {
            foreach (ulong id in new ulong[] { 1, 2 })
            {
                memoryStores[id] = new InMemoryRaftLogStore();
                memorySnapshots[id] = new InMemorySnapshotStore();
            }

            foreach (ulong id in new ulong[] { 1, 2, 3 })
            {
                await StartAsync(id);
            }

            await HostCluster.Within(hosts[1].CampaignAsync(Group));
            await HostCluster.WaitUntilAsync(() => hosts[1].GetStatus(Group).Role == RaftRole.Leader, "node 1 to lead");
            for (int i = 0; i < 25; i++)
            {
                await HostCluster.Within(hosts[1].ProposeAsync(Group, Encoding.UTF8.GetBytes($"v{i}")));
            }

            await HostCluster.WaitUntilAsync(() => machines[3].Commands.Count == 25, "node 3 to apply everything");

            // Power loss on node 3: its host and store go away mid-flight, the disk keeps what was synced.
            hosts[3].Dispose();
            endpoints[3].Dispose();
            diskLog.Dispose();
            disk.Crash(CrashMode.TornTailWithGarbage, new Random(3));
            diskLog = SegmentedLogStore.Open(disk, "/n3/log");
            await StartAsync(3);

            await HostCluster.Within(hosts[1].ProposeAsync(Group, Encoding.UTF8.GetBytes("after")));
            await HostCluster.WaitUntilAsync(() => machines[3].Commands.Count == 26, "the restarted node to catch up");
            Assert.Equal(Enumerable.Range(0, 25).Select(i => $"v{i}").Append("after"), machines[3].Commands);
        }
        finally
        {
            foreach (var host in hosts.Values)
            {
                host.Dispose();
            }

            foreach (var endpoint in endpoints.Values)
            {
                endpoint.Dispose();
            }

            diskLog.Dispose();
        }
    }
}
