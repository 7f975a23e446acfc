using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace KvStore.Server.Tests.Cli;

/// <summary>
/// A three-node cluster started the way a developer does: one `kvstore cluster up --nodes 3`
/// process on six free consecutive loopback ports, killed with its whole process tree (and its
/// data deleted) after the test class.
/// </summary>
public sealed class ClusterUpFixture : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "kvstore-cluster-tests-" + Guid.NewGuid().ToString("N"));
    private Process? _process;

    public IReadOnlyList<string> Endpoints { get; private set; } = [];

    public string InitialLeader { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        int basePort = FreeConsecutivePorts(6);
        var info = CliProcess.Executable.StartInfo(
            ["cluster", "up", "--nodes", "3", "--data-dir", _dataDir, "--base-port", basePort.ToString(CultureInfo.InvariantCulture)]);
        _process = Process.Start(info) ?? throw new InvalidOperationException("kvstore cluster up did not start");
        var stderr = new System.Collections.Concurrent.ConcurrentQueue<string>();
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } text && stderr.Count < 200)
            {
                stderr.Enqueue(text);
            }
        };
        _process.BeginErrorReadLine();
        using var guard = new CancellationTokenSource(CliProcess.HangGuard);
        while (await _process.StandardOutput.ReadLineAsync(guard.Token) is { } line)
        {
            if (line.StartsWith("endpoints: ", StringComparison.Ordinal))
            {
                Endpoints = line["endpoints: ".Length..].Split(',');
            }
            else if (line.StartsWith("leader: ", StringComparison.Ordinal))
            {
                // "leader: n3 at 127.0.0.1:24104; data in ..."
                InitialLeader = line.Split(' ')[3].TrimEnd(';');
                break;
            }
        }

        if (Endpoints.Count != 3 || InitialLeader.Length == 0)
        {
            string exit = _process.HasExited ? $"exited with code {_process.ExitCode}" : "still running";
            throw new InvalidOperationException(
                $"kvstore cluster up did not report its endpoints and leader ({exit}); logs in {_dataDir}; its stderr:{Environment.NewLine}{string.Join(Environment.NewLine, stderr)}");
        }

        _ = _process.StandardOutput.ReadToEndAsync(CancellationToken.None);
    }

    /// <summary>Kills (SIGKILL) the `kvstore serve` process serving clients on <paramref name="endpoint"/>.</summary>
    public void KillMember(string endpoint)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
            {
                continue;
            }

            string cmdline;
            try
            {
                cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            if (cmdline.Contains(" serve ", StringComparison.Ordinal) && cmdline.Contains(_dataDir, StringComparison.Ordinal)
                && cmdline.Contains($"--client-url {endpoint} ", StringComparison.Ordinal))
            {
                using var member = Process.GetProcessById(pid);
                member.Kill();
                member.WaitForExit();
                return;
            }
        }

        throw new InvalidOperationException($"no kvstore serve process for {endpoint}");
    }

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        if (Directory.Exists(_dataDir))
        {
            Directory.Delete(_dataDir, recursive: true);
        }
    }

    private static int FreeConsecutivePorts(int count)
    {
        var random = new Random();
        for (int attempt = 0; attempt < 100; attempt++)
        {
            int start = random.Next(20_000, 60_000);
            var probes = new List<Socket>();
            try
            {
                for (int i = 0; i < count; i++)
                {
                    var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    probes.Add(probe);
                    probe.Bind(new IPEndPoint(IPAddress.Loopback, start + i));
                }

                return start;
            }
            catch (SocketException)
            {
                // Taken: try another range.
            }
            finally
            {
                probes.ForEach(p => p.Dispose());
            }
        }

        throw new InvalidOperationException($"no {count} consecutive free ports found");
    }
}
