using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using KvStore.Client;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;
using KvStore.Server.Cli;

namespace KvStore.Server.Tests.Cluster;

/// <summary>
/// Real `kvstore serve` processes (kvstore.dll from the test output, run by the dotnet host) on
/// loopback with free ports, each with a data directory under one temporary root. Dispose kills
/// every process and deletes the root, whatever the test did.
/// </summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    /// <summary>Process-cluster tests run one at a time: each starts several servers on a 2-core budget.</summary>
    public const string Collection = "process clusters";

    private readonly KvStoreExecutable _executable = KvStoreExecutable.ForDll(Path.Combine(AppContext.BaseDirectory, "kvstore.dll"));
    private readonly List<ClusterNode> _nodes = [];
    private readonly string[] _extraArguments;
    private readonly List<ProtocolConnection> _connections = [];

    private ProcessCluster(string root, string[] extraArguments)
    {
        Root = root;
        _extraArguments = extraArguments;
    }

    public string Root { get; }

    public IReadOnlyList<ClusterNode> Nodes => _nodes;

    /// <summary>Starts <paramref name="count"/> nodes forming a new cluster and waits for a leader.</summary>
    public static async Task<ProcessCluster> StartAsync(int count, params string[] extraArguments)
    {
        var cluster = new ProcessCluster(Path.Combine(Path.GetTempPath(), "kvstore-node-cluster-" + Guid.NewGuid().ToString("N")[..12]), extraArguments);
        try
        {
            for (int i = 1; i <= count; i++)
            {
                cluster._nodes.Add(new ClusterNode($"n{i}", Path.Combine(cluster.Root, $"n{i}"), $"127.0.0.1:{FreePort()}", $"127.0.0.1:{FreePort()}"));
            }

            string initial = cluster.InitialCluster(cluster._nodes);
            foreach (ClusterNode node in cluster._nodes)
            {
                cluster.Launch(node, initial, "new");
            }

            await cluster.WaitForLeaderAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public string InitialCluster(IEnumerable<ClusterNode> nodes) => string.Join(",", nodes.Select(n => $"{n.Name}={n.PeerUrl}"));

    /// <summary>Starts (or restarts) <paramref name="node"/>'s process.</summary>
    public void Launch(ClusterNode node, string initialCluster, string state)
    {
        node.Process?.Dispose();
        node.Process = ServeProcess.Start(
            _executable,
            ["--name", node.Name, "--data-dir", node.DataDir, "--client-url", node.ClientUrl, "--peer-url", node.PeerUrl,
             "--initial-cluster", initialCluster, "--initial-cluster-state", state, .. _extraArguments],
            node.DataDir + ".log");
    }

    /// <summary>Restarts a stopped member of the current configuration.</summary>
    public void Restart(ClusterNode node) => Launch(node, InitialCluster(_nodes), "new");

    /// <summary>A new member (not started) with fresh ports.</summary>
    public ClusterNode NewNode(string name)
    {
        var node = new ClusterNode(name, Path.Combine(Root, name), $"127.0.0.1:{FreePort()}", $"127.0.0.1:{FreePort()}");
        _nodes.Add(node);
        return node;
    }

    public void Forget(ClusterNode node) => _nodes.Remove(node);

    public IEnumerable<ClusterNode> Running => _nodes.Where(n => n.Process is { HasExited: false });

    /// <summary>Waits until every running node agrees on a leader; returns it.</summary>
    public async Task<ClusterNode> WaitForLeaderAsync()
    {
        List<ClusterNode> running = Running.ToList();
        try
        {
            string endpoint = await ClusterStatusProbe.WaitForLeaderAsync(running.Select(n => n.ClientUrl).ToArray(), TimeSpan.FromSeconds(60), CancellationToken.None);
            return running.Single(n => n.ClientUrl == endpoint);
        }
        catch (TimeoutException ex)
        {
            var statuses = new System.Text.StringBuilder();
            foreach (ClusterNode n in running)
            {
                StatusResponse? s = await ClusterStatusProbe.TryStatusAsync(n.ClientUrl, CancellationToken.None);
                statuses.AppendLine(s is null ? $"{n.Name}: no answer" : $"{n.Name}: leader={s.Leader:x16} isLeader={s.IsLeader} term={s.RaftTerm} commit={s.RaftCommitIndex} applied={s.RaftAppliedIndex}");
            }

            throw new TimeoutException(ex.Message + Environment.NewLine + statuses + Logs(), ex);
        }
    }

    public async Task<StatusResponse> StatusAsync(ClusterNode node)
    {
        return await ClusterStatusProbe.TryStatusAsync(node.ClientUrl, CancellationToken.None)
            ?? throw new InvalidOperationException($"{node.Name} does not answer Status");
    }

    /// <summary>Connects to <paramref name="node"/>, waiting up to 30 s for a just-started process to listen.</summary>
    public async Task<ProtocolConnection> ConnectAsync(ClusterNode node)
    {
        (string host, int port) = KvStore.Server.Peers.PeerAddress.Parse(node.ClientUrl);
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                ProtocolConnection connection = await ProtocolConnection.ConnectAsync(host, port);
                _connections.Add(connection);
                return connection;
            }
            catch (KvStoreConnectionException) when (DateTime.UtcNow < deadline && node.Process is { HasExited: false })
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>
    /// Sends <paramref name="request"/> to the leader, following NOT_LEADER hints and retrying while
    /// an election runs (what the SDK does), until <paramref name="timeout"/>.
    /// </summary>
    public async Task<TResponse> SendToLeaderAsync<TResponse>(IMessage request, TimeSpan? timeout = null)
        where TResponse : IMessage
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        string? target = null;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            target ??= Running.First().ClientUrl;
            try
            {
                (string host, int port) = KvStore.Server.Peers.PeerAddress.Parse(target);
                await using ProtocolConnection connection = await ProtocolConnection.ConnectAsync(host, port);
                return await connection.SendAsync<TResponse>(request);
            }
            catch (NotLeaderException ex)
            {
                last = ex;
                target = ex.LeaderHint;
                if (target is null)
                {
                    await Task.Delay(200);
                }
            }
            catch (Exception ex) when (ex is KvStoreConnectionException or KvStoreProtocolException { Code: ErrorCode.Unavailable or ErrorCode.Timeout })
            {
                last = ex;
                target = Running.ElementAt(Random.Shared.Next(Running.Count())).ClientUrl;
                await Task.Delay(200);
            }
        }

        throw new TimeoutException($"no leader answered within the deadline; last error: {last?.Message}{Environment.NewLine}{Logs()}");
    }

    public string Logs()
    {
        var text = new System.Text.StringBuilder();
        foreach (ClusterNode n in _nodes)
        {
            string log = n.DataDir + ".log";
            if (File.Exists(log))
            {
                string[] lines = File.ReadAllLines(log);
                text.AppendLine($"--- {n.Name} ({lines.Length} lines: warnings, failures and the last 15)");
                foreach (string line in lines.SkipLast(15).Where(l => l.Contains(" warn ", StringComparison.Ordinal) || l.Contains(" dbug ", StringComparison.Ordinal) || l.Contains(" fail ", StringComparison.Ordinal) || l.StartsWith(' ')).Concat(lines.TakeLast(15)))
                {
                    text.AppendLine(line);
                }
            }
        }

        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (ProtocolConnection c in _connections)
        {
            await c.DisposeAsync();
        }

        foreach (ClusterNode node in _nodes)
        {
            node.Process?.Dispose();
        }

        if (Environment.GetEnvironmentVariable("KVSTORE_KEEP_CLUSTER_DIRS") == "1")
        {
            // Debugging aid: the data directories and n*.log files stay for inspection.
            return;
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Never created: the first node failed to start.
        }
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}

/// <summary>One member of a <see cref="ProcessCluster"/>: its addresses, data directory and current process.</summary>
public sealed class ClusterNode(string name, string dataDir, string clientUrl, string peerUrl)
{
    public string Name { get; } = name;

    public string DataDir { get; } = dataDir;

    public string ClientUrl { get; } = clientUrl;

    public string PeerUrl { get; } = peerUrl;

    public ServeProcess? Process { get; set; }

    public ulong Id => Node.MemberIds.ForName(Name);
}
