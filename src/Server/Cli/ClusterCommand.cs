using System.CommandLine;
using System.Globalization;

namespace KvStore.Server.Cli;

/// <summary>
/// `kvstore cluster up`: a local multi-process cluster for development. Node i (1-based) is named
/// n{i}, keeps its data in DIR/n{i} and its log in DIR/n{i}.log, and listens on 127.0.0.1 at
/// client port P+2(i-1) and peer port P+2(i-1)+1. Ctrl-C or SIGTERM stops every node (SIGTERM,
/// then SIGKILL after a grace period); the nodes also stop by themselves if this process is killed.
/// Started again on the same DIR it brings the same data back.
/// </summary>
public static class ClusterCommand
{
    private static readonly Option<int> Nodes = new("--nodes") { Description = "Number of nodes.", DefaultValueFactory = _ => 3 };
    private static readonly Option<string> DataDir = new("--data-dir") { Description = "Directory holding each node's data directory.", DefaultValueFactory = _ => "kvstore-cluster" };
    private static readonly Option<int> BasePort = new("--base-port") { Description = "First client port; node i uses P+2(i-1) for clients and P+2(i-1)+1 for peers.", DefaultValueFactory = _ => 2379 };

    public static Command Create()
    {
        var up = new Command("up", "Start a local multi-process cluster and keep it running until Ctrl-C.");
        up.Options.Add(Nodes);
        up.Options.Add(DataDir);
        up.Options.Add(BasePort);
        up.SetAction((parseResult, _) => UpAsync(parseResult.GetValue(Nodes), parseResult.GetValue(DataDir)!, parseResult.GetValue(BasePort)));
        var cluster = new Command("cluster", "Local development clusters.");
        cluster.Subcommands.Add(up);
        return cluster;
    }

    private static async Task<int> UpAsync(int nodes, string dataDir, int basePort)
    {
        if (nodes is < 1 or > 9)
        {
            Console.Error.WriteLine($"kvstore cluster up: --nodes must be between 1 and 9, not {nodes}");
            return 2;
        }

        if (basePort is < 1 || basePort + (2 * nodes) > 65535)
        {
            Console.Error.WriteLine($"kvstore cluster up: --base-port {basePort} leaves no room for {nodes} nodes");
            return 2;
        }

        string root = Path.GetFullPath(dataDir);
        string[] names = Enumerable.Range(1, nodes).Select(i => "n" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
        string[] clientUrls = Enumerable.Range(0, nodes).Select(i => $"127.0.0.1:{basePort + (2 * i)}").ToArray();
        string[] peerUrls = Enumerable.Range(0, nodes).Select(i => $"127.0.0.1:{basePort + (2 * i) + 1}").ToArray();
        string initialCluster = string.Join(",", names.Select((n, i) => $"{n}={peerUrls[i]}"));

        using var signal = new ShutdownSignal();
        var children = new List<ServeProcess>();
        KvStoreExecutable executable = KvStoreExecutable.Current();
        try
        {
            for (int i = 0; i < nodes; i++)
            {
                children.Add(ServeProcess.Start(
                    executable,
                    ["--name", names[i], "--data-dir", Path.Combine(root, names[i]), "--client-url", clientUrls[i], "--peer-url", peerUrls[i], "--initial-cluster", initialCluster],
                    Path.Combine(root, names[i] + ".log")));
            }

            Task<string> leader = ClusterStatusProbe.WaitForLeaderAsync(clientUrls, TimeSpan.FromSeconds(60), signal.Token);
            Task anyExit = Task.WhenAny(children.Select(c => c.WaitForExitAsync(signal.Token)));
            if (await Task.WhenAny(leader, anyExit) != leader)
            {
                ServeProcess? dead = children.FirstOrDefault(c => c.HasExited);
                if (dead is not null)
                {
                    Console.Error.WriteLine($"kvstore cluster up: node {names[children.IndexOf(dead)]} exited with code {dead.ExitCode}; see {dead.LogPath}");
                    return 1;
                }

                return 0;
            }

            string leaderEndpoint = await leader;
            string endpoints = string.Join(",", clientUrls);
            Console.Out.WriteLine($"endpoints: {endpoints}");
            Console.Out.WriteLine($"leader: {names[Array.IndexOf(clientUrls, leaderEndpoint)]} at {leaderEndpoint}; data in {root}; logs in {root}/n*.log");
            Console.Out.WriteLine($"try: dotnet run --project src/Server -- put --endpoints {endpoints} greeting hello");
            Console.Out.WriteLine("Ctrl-C stops the cluster.");
            await Console.Out.FlushAsync();

            while (!signal.Token.IsCancellationRequested)
            {
                try
                {
                    await Task.WhenAny(children.Select(c => c.WaitForExitAsync(signal.Token))).WaitAsync(signal.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                ServeProcess? dead = children.FirstOrDefault(c => c.HasExited);
                if (dead is not null)
                {
                    Console.Error.WriteLine($"kvstore cluster up: node {names[children.IndexOf(dead)]} exited with code {dead.ExitCode}; see {dead.LogPath}");
                    children.Remove(dead);
                    dead.Dispose();
                    if (children.Count == 0)
                    {
                        return 1;
                    }
                }
            }

            return 0;
        }
        catch (TimeoutException ex)
        {
            Console.Error.WriteLine($"kvstore cluster up: {ex.Message}; see the logs in {root}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            return 0;
        }
        catch (Exception ex) when (ex is IOException or System.ComponentModel.Win32Exception or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"kvstore cluster up: {ex.Message}");
            return 1;
        }
        finally
        {
            await Task.WhenAll(children.Select(c => c.StopAsync(TimeSpan.FromSeconds(10))));
            foreach (ServeProcess c in children)
            {
                c.Dispose();
            }

            Console.Error.WriteLine("kvstore cluster up: stopped");
        }
    }
}
