using System.Collections.Concurrent;
using System.Diagnostics;
using KvStore.Server.Tests.Cli;

namespace KvStore.Server.Tests.Locks;

/// <summary>
/// A `kvstore` client process (lock, elect) under test: its output lines as they arrive, and the
/// signals a test sends it — SIGKILL, or SIGSTOP/SIGCONT of it and every process it started.
/// </summary>
internal sealed class ClientProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ConcurrentQueue<string> _errors = new();

    private ClientProcess(Process process)
    {
        _process = process;
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public IReadOnlyList<string> Lines => _lines.ToArray();

    public string Stderr => string.Join('\n', _errors);

    /// <summary>Starts `kvstore ARGUMENTS` with extra environment variables.</summary>
    public static ClientProcess Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        ProcessStartInfo info = CliProcess.Executable.StartInfo(arguments);
        info.Environment.Remove("KVSTORE_ENDPOINTS");
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var process = new Process { StartInfo = info };
        var client = new ClientProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                client._lines.Enqueue(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                client._errors.Enqueue(e.Data);
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return client;
    }

    /// <summary>Waits (hang guard 60 s) until the output satisfies <paramref name="condition"/>.</summary>
    public async Task WaitForLinesAsync(Func<IReadOnlyList<string>, bool> condition, string what)
    {
        DateTime deadline = DateTime.UtcNow + CliProcess.HangGuard;
        while (!condition(Lines))
        {
            if (DateTime.UtcNow > deadline || (_process.HasExited && !condition(Lines)))
            {
                await Task.Delay(200);
                Assert.Fail($"{what}: not seen (exited: {_process.HasExited}); output:\n{string.Join('\n', Lines)}\nstderr:\n{Stderr}");
            }

            await Task.Delay(50);
        }
    }

    public async Task<int> WaitForExitAsync()
    {
        using var guard = new CancellationTokenSource(CliProcess.HangGuard);
        await _process.WaitForExitAsync(guard.Token);
        return _process.ExitCode;
    }

    /// <summary>
    /// SIGSTOPs the process and all its descendants, parents before children so none can start a
    /// new child unnoticed; returns the stopped pids for <see cref="Continue"/>.
    /// </summary>
    public List<int> StopTree()
    {
        var stopped = new List<int>();
        var pending = new Queue<int>([Pid]);
        while (pending.TryDequeue(out int pid))
        {
            Signal("STOP", pid);
            stopped.Add(pid);
            foreach (int child in Children(pid))
            {
                pending.Enqueue(child);
            }
        }

        return stopped;
    }

    public static void Continue(IEnumerable<int> pids)
    {
        foreach (int pid in pids.Reverse())
        {
            Signal("CONT", pid);
        }
    }

    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    public void Dispose()
    {
        try
        {
            Kill();
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }

        _process.Dispose();
    }

    private static IEnumerable<int> Children(int pid)
    {
        string path = $"/proc/{pid}/task/{pid}/children";
        return File.Exists(path)
            ? File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray()
            : [];
    }

    private static void Signal(string signal, int pid)
    {
        using Process kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit();
    }
}
