using KvStore.Raft.Core;
using KvStore.Raft.Host;

namespace KvStore.Raft.Tests.Host;

/// <summary>
/// Several <see cref="RaftHost"/>s in one process over an <see cref="InMemoryTransport"/>, each with its own
/// in-memory log store and snapshot store (which outlive a host, so a host can be restarted on them).
/// </summary>
internal sealed class HostCluster : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly Func<ulong, RaftHostOptions> _options;
    private readonly IRaftTransport?[] _endpoints;

    public HostCluster(int nodes, Func<ulong, RaftHostOptions>? options = null)
    {
        _options = options ?? (id => DefaultOptions(id));
        Transport = new InMemoryTransport(seed: 1);
        Hosts = new RaftHost?[nodes + 1];
        Stores = new InMemoryRaftLogStore[nodes + 1];
        Snapshots = new InMemorySnapshotStore[nodes + 1];
        StateMachines = new Dictionary<(ulong Node, ulong Group), CommandLogStateMachine>();
        _endpoints = new IRaftTransport?[nodes + 1];
        for (ulong id = 1; id <= (ulong)nodes; id++)
        {
            Stores[id] = new InMemoryRaftLogStore(trackDurability: true);
            Snapshots[id] = new InMemorySnapshotStore();
            StartHost(id);
        }
    }

    public InMemoryTransport Transport { get; }

    /// <summary>Indexed by node id (1-based).</summary>
    public RaftHost?[] Hosts { get; }

    public InMemoryRaftLogStore[] Stores { get; }

    public InMemorySnapshotStore[] Snapshots { get; }

    public Dictionary<(ulong Node, ulong Group), CommandLogStateMachine> StateMachines { get; }

    public IEnumerable<ulong> NodeIds => Enumerable.Range(1, Hosts.Length - 1).Select(i => (ulong)i);

    public ulong[] Voters => NodeIds.ToArray();

    public RaftHost Host(ulong id) => Hosts[id] ?? throw new InvalidOperationException($"node {id} is stopped");

    public static RaftHostOptions DefaultOptions(ulong id) => new()
    {
        NodeId = id,
        TickInterval = TimeSpan.FromMilliseconds(5),
        GroupConfig = new RaftConfig { Id = id, ElectionTick = 10, HeartbeatTick = 1 },
    };

    public void StartHost(ulong id)
    {
        _endpoints[id] = Transport.Connect(id);
        var host = new RaftHost(_options(id), Stores[id], Snapshots[id], _endpoints[id]!);
        Hosts[id] = host;
        host.Start();
    }

    public void StopHost(ulong id)
    {
        Hosts[id]?.Dispose();
        Hosts[id] = null;
        _endpoints[id]?.Dispose();
        _endpoints[id] = null;
    }

    public async Task AddGroupEverywhereAsync(ulong group)
    {
        foreach (ulong id in NodeIds)
        {
            await Within(AddGroupAsync(id, group));
        }
    }

    public Task AddGroupAsync(ulong node, ulong group)
    {
        var sm = new CommandLogStateMachine();
        StateMachines[(node, group)] = sm;
        return Host(node).AddGroupAsync(group, Voters, sm);
    }

    /// <summary>
    /// Makes <paramref name="node"/> the leader: it campaigns when there is no leader, or the current leader
    /// hands over (a campaign against a live leader is ignored under CheckQuorum's leader lease).
    /// </summary>
    public async Task ElectAsync(ulong group, ulong node, IReadOnlyList<ulong>? members = null)
    {
        var among = members ?? NodeIds.ToArray();
        var deadline = DateTime.UtcNow + Patience;
        while (!(Host(node).GetStatus(group).Role == RaftRole.Leader
                 && among.All(id => Hosts[id] is null || Host(id).GetStatus(group).Leader == node)))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"gave up waiting for node {node} to become the leader of group {group}");
            }

            ulong current = among.Where(id => Hosts[id] is not null)
                .Select(id => Host(id).GetStatus(group))
                .Where(s => s.Role == RaftRole.Leader)
                .OrderByDescending(s => s.Term)
                .Select(s => s.Leader)
                .FirstOrDefault();
            if (current == 0)
            {
                await Within(Host(node).CampaignAsync(group));
            }
            else if (current != node)
            {
                await Within(Host(current).TransferLeadershipAsync(group, node));
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Bounds a wait so a broken host fails the test instead of hanging it.</summary>
    public static Task Within(Task task) => task.WaitAsync(Patience);

    public static Task<T> Within<T>(Task<T> task) => task.WaitAsync(Patience);

    public ulong LeaderOf(ulong group) => Host(NodeIds.First(id => Hosts[id] is not null)).GetStatus(group).Leader;

    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"gave up waiting for {what}");
            }

            await Task.Delay(5);
        }
    }

    public void Dispose()
    {
        foreach (ulong id in NodeIds)
        {
            StopHost(id);
        }
    }
}
