using System.Globalization;
using System.Net;
using System.Net.Sockets;
using KvStore.Jepsen.Faults;
using KvStore.Server.Cli;
using KvStore.Server.FaultInjection;

namespace KvStore.Jepsen.Cluster;

/// <summary>
/// N real <c>kvstore serve</c> processes on loopback (kvstore.dll from this program's directory,
/// run by the dotnet host), each behind its own <see cref="PeerProxy"/>. Data and logs go to
/// <c>OUT/nodes/</c>. Disposal kills every process; the processes also exit on their own when this
/// one dies (<c>--parent-pid</c>), so even a Ctrl-C or a crash of the harness leaves nothing running.
/// </summary>
/// <remarks>
/// Every node listens for peers on its real port (<c>--listen-peer-url</c>) and advertises its proxy
/// (<c>--peer-url</c>), and every node's <c>--initial-cluster</c> names every node at its proxy. So all
/// member directories agree, snapshots (which carry the sender's directory) name proxies too, and
/// every peer connection passes through a proxy, also after a snapshot is installed.
/// Every node is started with <c>--fault-injection-dir</c> (its clock can be skewed through
/// <see cref="SetClock"/>), and with <c>--fault-lose-unsynced-writes</c> when
/// <see cref="ClusterSettings.LoseUnsyncedWrites"/> says so.
/// </remarks>
public sealed class ClusterUnderTest : IAsyncDisposable
{
    private readonly KvStoreExecutable _executable;
    private readonly List<NodeUnderTest> _nodes = [];
    private readonly TextWriter _log;
    private readonly ClusterSettings _settings;

    private ClusterUnderTest(string root, int seed, ClusterSettings settings, TextWriter log)
    {
        Root = root;
        _settings = settings;
        Faults = new LinkFaultTable(seed);
        _log = log;
        string dll = Path.Combine(AppContext.BaseDirectory, "kvstore.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"kvstore.dll is not next to the harness ({AppContext.BaseDirectory}); build tests/Jepsen, which references src/Server", dll);
        }

        _executable = KvStoreExecutable.ForDll(dll);
    }

    public string Root { get; }

    public LinkFaultTable Faults { get; }

    public ClusterSettings Settings => _settings;

    public IReadOnlyList<NodeUnderTest> Nodes => _nodes;

    public IReadOnlyList<string> ClientUrls => _nodes.Select(n => n.ClientUrl).ToArray();

    /// <summary>Starts <paramref name="count"/> nodes under <paramref name="outDirectory"/>/nodes and waits for a leader.</summary>
    public static async Task<ClusterUnderTest> StartAsync(int count, string outDirectory, int seed, ClusterSettings settings, TextWriter log, CancellationToken cancellationToken)
    {
        var cluster = new ClusterUnderTest(Path.Combine(Path.GetFullPath(outDirectory), "nodes"), seed, settings, log);
        try
        {
            Directory.CreateDirectory(cluster.Root);
            for (int i = 1; i <= count; i++)
            {
                string name = $"n{i}";
                int peerPort = FreePort();
                var proxy = new PeerProxy(Server.Node.MemberIds.ForName(name), new IPEndPoint(IPAddress.Loopback, peerPort), cluster.Faults);
                cluster._nodes.Add(new NodeUnderTest(name, Path.Combine(cluster.Root, name), Path.Combine(cluster.Root, name + ".log"), FreePort(), peerPort, proxy));
            }

            foreach (NodeUnderTest node in cluster._nodes)
            {
                cluster.Launch(node);
            }

            await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts (or restarts after a kill) the node's process with its data directory as it is.
    /// <paramref name="state"/> "existing" joins a running cluster after a member add.</summary>
    public void Launch(NodeUnderTest node, string state = "new")
    {
        node.Process?.Dispose();
        node.IsPaused = false;
        string initial = string.Join(",", _nodes.Select(n => $"{n.Name}={n.ProxiedPeerUrl}"));
        List<string> arguments =
        [
            "--name", node.Name, "--data-dir", node.DataDirectory, "--client-url", node.ClientUrl,
            "--peer-url", node.ProxiedPeerUrl, "--listen-peer-url", node.PeerUrl,
            "--initial-cluster", initial, "--initial-cluster-state", state,
            "--snapshot-every-entries", _settings.SnapshotEveryEntries.ToString(CultureInfo.InvariantCulture),
            "--compaction-retain-entries", _settings.CompactionRetainEntries.ToString(CultureInfo.InvariantCulture),
            "--fault-injection-dir", node.FaultDirectory,
        ];
        if (_settings.LoseUnsyncedWrites)
        {
            arguments.Add("--fault-lose-unsynced-writes");
        }

        node.Process = ServeProcess.Start(
            _executable,
            arguments,
            node.LogPath);
        _log.WriteLine($"started {node.Name} (pid {node.Process.Pid})");
    }

    /// <summary>Sets the node's wall clock <paramref name="offset"/> from true time and both its clocks' pace
    /// (through its fault-injection control file; a paused or stopped node applies it when it runs again).</summary>
    public void SetClock(NodeUnderTest node, TimeSpan offset, double rate)
    {
        ClockControlFile.Write(node.FaultDirectory, offset, rate);
        node.ClockSkewed = offset != TimeSpan.Zero || rate != 1.0;
    }

    /// <summary>SIGKILL: the process gets no chance to flush or say goodbye.</summary>
    public void Kill(NodeUnderTest node)
    {
        if (node.Process is { } process)
        {
            process.KillNow();
        }

        node.IsPaused = false;
    }

    public void Pause(NodeUnderTest node)
    {
        if (node.IsRunning && !node.IsPaused)
        {
            ProcessSignals.Stop(node.Process!.Pid);
            node.IsPaused = true;
        }
    }

    public void Resume(NodeUnderTest node)
    {
        if (node.IsPaused && node.IsRunning)
        {
            ProcessSignals.Continue(node.Process!.Pid);
        }

        node.IsPaused = false;
    }

    /// <summary>The node the cluster currently follows as leader, or null when there is none (or it cannot be asked).</summary>
    public async Task<NodeUnderTest?> FindLeaderAsync(CancellationToken cancellationToken)
    {
        foreach (NodeUnderTest node in _nodes.Where(n => n.IsRunning && !n.IsPaused))
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                var status = await ClusterStatusProbe.TryStatusAsync(node.ClientUrl, timeout.Token).ConfigureAwait(false);
                if (status is { Leader: not 0 } && _nodes.FirstOrDefault(n => n.Id == status.Leader) is { } leader && leader.IsRunning && !leader.IsPaused)
                {
                    return leader;
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // This node is slow to answer; ask the next.
            }
        }

        return null;
    }

    /// <summary>Waits until every running node agrees on a leader.</summary>
    public async Task WaitForLeaderAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        string[] running = _nodes.Where(n => n.IsRunning && !n.IsPaused).Select(n => n.ClientUrl).ToArray();
        await ClusterStatusProbe.WaitForLeaderAsync(running, timeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Heals everything: links, paused and killed nodes.</summary>
    public void HealAll()
    {
        Faults.Clear();
        foreach (NodeUnderTest node in _nodes)
        {
            if (node.ClockSkewed)
            {
                SetClock(node, TimeSpan.Zero, 1.0);
            }

            Resume(node);
            if (!node.IsRunning && !node.IsRemoved)
            {
                Launch(node);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (NodeUnderTest node in _nodes)
        {
            node.Process?.Dispose();
            node.Process = null;
            await node.Proxy.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
