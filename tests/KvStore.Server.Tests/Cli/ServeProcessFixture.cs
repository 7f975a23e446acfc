using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using KvStore.Server.Cli;

namespace KvStore.Server.Tests.Cli;

/// <summary>
/// A one-node cluster: a real `kvstore serve` process on free loopback ports with its data in a
/// temporary directory, started once for a test class and killed (and its data deleted) after.
/// It also watches this test process (--parent-pid), so a crashed test run leaves no orphan.
/// </summary>
public sealed class ServeProcessFixture : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "kvstore-cli-tests-" + Guid.NewGuid().ToString("N"));
    private Process? _process;

    public string Endpoint { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        int clientPort = FreePort();
        int peerPort = FreePort();
        Endpoint = $"127.0.0.1:{clientPort}";
        var info = CliProcess.Executable.StartInfo(
        [
            "serve", "--name", "n1", "--data-dir", _dataDir, "--client-url", Endpoint, "--peer-url", $"127.0.0.1:{peerPort}",
            "--initial-cluster", $"n1=127.0.0.1:{peerPort}", "--parent-pid", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--log-level", "warning",
        ]);
        _process = Process.Start(info) ?? throw new InvalidOperationException("kvstore serve did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        using var guard = new CancellationTokenSource(CliProcess.HangGuard);
        await ClusterStatusProbe.WaitForLeaderAsync([Endpoint], CliProcess.HangGuard, guard.Token);
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

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
