using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using KvStore.Server.Cli;

namespace KvStore.Server.Tests.Cluster;

/// <summary>The `serve` and `cluster up` verbs as an operator runs them: flags, config file, exit codes, signals, restart.</summary>
[Collection(ProcessCluster.Collection)]
public sealed class CommandLineTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "kvstore-node-cli-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly KvStoreExecutable _kvstore = KvStoreExecutable.ForDll(Path.Combine(AppContext.BaseDirectory, "kvstore.dll"));
    private readonly List<Process> _processes = [];

    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    [Theory]
    [InlineData("serve --initial-cluster n1", 2, "is not name=HOST:PORT")]
    [InlineData("serve --initial-cluster-state sideways", 2, "must be 'new' or 'existing'")]
    [InlineData("cluster up --nodes 0", 2, "--nodes must be between 1 and 9")]
    [InlineData("serve --fault-lose-unsynced-writes", 2, "it needs --fault-injection-dir")]
    public async Task Bad_flags_exit_non_zero_with_one_clear_line(string arguments, int exitCode, string message)
    {
        Process process = Start(arguments.Split(' '));
        string stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(exitCode, process.ExitCode);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(message, line);
    }

    [Fact]
    public async Task Serve_reads_its_settings_from_a_config_file()
    {
        Directory.CreateDirectory(_root);
        int client = FreePort();
        int peer = FreePort();
        string config = Path.Combine(_root, "node.json");
        await File.WriteAllTextAsync(config, $$"""
            { "name": "from-file", "data-dir": "{{Path.Combine(_root, "data").Replace("\\", "/")}}",
              "client-url": "127.0.0.1:{{client}}", "peer-url": "127.0.0.1:{{peer}}" }
            """);
        Start("serve", "--config", config, "--parent-pid", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));

        StatusResponse? status = null;
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (status is not { IsLeader: true })
        {
            Assert.True(DateTime.UtcNow < deadline, "the node from the config file never became leader");
            await Task.Delay(200);
            status = await ClusterStatusProbe.TryStatusAsync($"127.0.0.1:{client}", CancellationToken.None);
        }

        Assert.Equal("from-file", status.Name);
        Assert.True(File.Exists(Path.Combine(_root, "data", "members.json")));
    }

    [Fact]
    public async Task Cluster_up_prints_the_endpoints_stops_every_node_on_sigterm_and_brings_the_data_back()
    {
        int basePort = FreePortRun(6);
        string dataDir = Path.Combine(_root, "cluster");
        string[] expected = [$"127.0.0.1:{basePort}", $"127.0.0.1:{basePort + 2}", $"127.0.0.1:{basePort + 4}"];

        for (int run = 0; run < 2; run++)
        {
            Process up = Start("cluster", "up", "--nodes", "3", "--data-dir", dataDir, "--base-port", basePort.ToString(System.Globalization.CultureInfo.InvariantCulture));
            string? line;
            do
            {
                line = await up.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(90));
                Assert.NotNull(line);
            }
            while (!line.StartsWith("endpoints: ", StringComparison.Ordinal));

            Assert.Equal(expected, line["endpoints: ".Length..].Split(','));
            if (run == 0)
            {
                await SendToAnyAsync<PutResponse>(expected, new PutRequest { Key = B("survives"), Value = B("restart") });
            }
            else
            {
                RangeResponse got = await SendToAnyAsync<RangeResponse>(expected, new RangeRequest { Key = B("survives") });
                Assert.Equal("restart", Assert.Single(got.Kvs).Value.ToStringUtf8());
            }

            Assert.Equal(0, SignalTerm(up.Id));
            Assert.True(up.WaitForExit(30_000), "cluster up did not exit after SIGTERM");
            Assert.Equal(0, up.ExitCode);
            foreach (string endpoint in expected)
            {
                Assert.Null(await ClusterStatusProbe.TryStatusAsync(endpoint, CancellationToken.None));
            }
        }
    }

    public void Dispose()
    {
        foreach (Process p in _processes)
        {
            try
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(10_000);
            }
            catch (InvalidOperationException)
            {
                // Already exited.
            }

            p.Dispose();
        }

        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static async Task<TResponse> SendToAnyAsync<TResponse>(IReadOnlyList<string> endpoints, IMessage request)
        where TResponse : IMessage
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            foreach (string endpoint in endpoints)
            {
                try
                {
                    (string host, int port) = KvStore.Server.Peers.PeerAddress.Parse(endpoint);
                    await using var connection = await Client.Protocol.ProtocolConnection.ConnectAsync(host, port);
                    return await connection.SendAsync<TResponse>(request);
                }
                catch (Client.KvStoreException) when (DateTime.UtcNow < deadline)
                {
                    // Not the leader, or not up yet: try the next one.
                }
            }

            await Task.Delay(200);
        }
    }

    private Process Start(params string[] arguments)
    {
        var info = _kvstore.StartInfo(arguments);
        var process = Process.Start(info)!;
        _processes.Add(process);
        return process;
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>The first of <paramref name="count"/> consecutive free ports.</summary>
    private static int FreePortRun(int count)
    {
        for (int attempt = 0; attempt < 100; attempt++)
        {
            int first = Random.Shared.Next(20_000, 60_000);
            var sockets = new List<Socket>();
            try
            {
                for (int i = 0; i < count; i++)
                {
                    var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    sockets.Add(s);
                    s.Bind(new IPEndPoint(IPAddress.Loopback, first + i));
                }

                return first;
            }
            catch (SocketException)
            {
                // Taken: try another run.
            }
            finally
            {
                sockets.ForEach(s => s.Dispose());
            }
        }

        throw new InvalidOperationException($"no run of {count} free ports found");
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SignalTerm(int pid, int signal = 15);
}
