using System.Text;
using KvStore.Raft.Core;
using KvStore.Raft.Host;
using KvStore.Storage.Log;

namespace KvStore.Raft.Tests.Host;

/// <summary>
/// The host sends a leader's Appends before it syncs the same entries (dissertation §10.2.1), so a
/// follower's fsync overlaps the leader's instead of following it.
/// </summary>
public sealed class EarlySendHostTests
{
    private const ulong Group = 1;

    [Fact]
    public async Task The_leader_hands_its_Append_to_the_transport_before_its_own_sync_of_that_entry()
    {
        var events = new List<string>();
        var hub = new InMemoryTransport(seed: 1);
        var leaderStore = new SyncObservingLogStore(new InMemoryRaftLogStore(trackDurability: true), events);
        IRaftLogStore[] stores = [leaderStore, new InMemoryRaftLogStore(), new InMemoryRaftLogStore()];
        var hosts = new List<RaftHost>();
        try
        {
            for (ulong id = 1; id <= 3; id++)
            {
                var endpoint = hub.Connect(id);
                var transport = id == 1 ? new SendObservingTransport(endpoint, events) : endpoint;
                var host = new RaftHost(HostCluster.DefaultOptions(id), stores[id - 1], new InMemorySnapshotStore(), transport);
                hosts.Add(host);
                host.Start();
                await HostCluster.Within(host.AddGroupAsync(Group, [1, 2, 3], new CommandLogStateMachine()));
            }

            await HostCluster.Within(hosts[0].CampaignAsync(Group));
            await HostCluster.WaitUntilAsync(() => hosts[0].GetStatus(Group).Role == RaftRole.Leader && hosts[0].GetStatus(Group).Commit >= 1,
                "node 1 to lead and commit its first entry");
            long index = hosts[0].GetStatus(Group).LastIndex + 1;

            await HostCluster.Within(hosts[0].ProposeAsync(Group, Encoding.UTF8.GetBytes("early")));

            string[] seen;
            lock (events)
            {
                seen = [.. events];
            }

            int firstAppend = Array.FindIndex(seen, e => e == $"send Append to 2 through {index}" || e == $"send Append to 3 through {index}");
            int firstSync = Array.FindIndex(seen, e => e == $"sync through {index}");
            Assert.True(firstAppend >= 0, $"no Append carrying entry {index} was sent: {string.Join("; ", seen)}");
            Assert.True(firstSync >= 0, $"the leader never synced entry {index}: {string.Join("; ", seen)}");
            Assert.True(firstAppend < firstSync, $"the Append of entry {index} left only after the leader's sync: {string.Join("; ", seen)}");
        }
        finally
        {
            foreach (var host in hosts)
            {
                host.Dispose();
            }
        }
    }

    /// <summary>Records, in loop order, each Append the leader sends and how far its log reached at each Sync.</summary>
    private sealed class SendObservingTransport(IRaftTransport inner, List<string> events) : IRaftTransport
    {
        public ulong LocalNode => inner.LocalNode;

        public void Send(ulong toNode, IReadOnlyList<Message> batch)
        {
            lock (events)
            {
                foreach (var m in batch.Where(m => m.Type == MessageType.Append && m.Entries.Count > 0))
                {
                    events.Add($"send Append to {toNode} through {m.Entries[^1].Index}");
                }
            }

            inner.Send(toNode, batch);
        }

        public void SetReceiver(Action<IReadOnlyList<Message>> receiver) => inner.SetReceiver(receiver);

        public void Dispose() => inner.Dispose();
    }

    private sealed class SyncObservingLogStore(IRaftLogStore inner, List<string> events) : IRaftLogStore
    {
        public IReadOnlyCollection<ulong> Groups => inner.Groups;

        public long SyncCount => inner.SyncCount;

        public void Sync()
        {
            lock (events)
            {
                events.Add($"sync through {inner.LastIndex(Group)}");
            }

            inner.Sync();
        }

        public void Append(ulong group, ReadOnlySpan<LogEntry> entries) => inner.Append(group, entries);

        public void SaveHardState(ulong group, LogHardState state) => inner.SaveHardState(group, state);

        public LogHardState GetHardState(ulong group) => inner.GetHardState(group);

        public IReadOnlyList<LogEntry> GetEntries(ulong group, long low, long high, long maxBytes = long.MaxValue) =>
            inner.GetEntries(group, low, high, maxBytes);

        public long GetTerm(ulong group, long index) => inner.GetTerm(group, index);

        public long FirstIndex(ulong group) => inner.FirstIndex(group);

        public long LastIndex(ulong group) => inner.LastIndex(group);

        public void TruncateSuffix(ulong group, long fromIndex) => inner.TruncateSuffix(group, fromIndex);

        public void CompactPrefix(ulong group, long throughIndex, long term) => inner.CompactPrefix(group, throughIndex, term);

        public void RemoveGroup(ulong group) => inner.RemoveGroup(group);

        public void Dispose() => inner.Dispose();
    }
}
