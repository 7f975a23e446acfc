using System.Diagnostics;
using KvStore.Server.Cli;

namespace KvStore.Server.Tests.Cli;

/// <summary>Runs the real `kvstore` executable (built next to the tests) and captures what it prints.</summary>
internal static class CliProcess
{
    /// <summary>Guards every wait against a hang; never a timing assertion.</summary>
    public static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    /// <summary>
    /// --command-timeout for the CLI under test: generous, because CI shares two cores among many
    /// processes; a test waits for an answer, it never measures how long one takes.
    /// </summary>
    public const string CommandTimeoutSeconds = "30";

    public static KvStoreExecutable Executable =>
        KvStoreExecutable.ForDll(Path.Combine(AppContext.BaseDirectory, "kvstore.dll"));

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string? stdin, params string[] arguments)
    {
        var info = Executable.StartInfo(arguments);
        info.RedirectStandardInput = true;
        info.Environment.Remove("KVSTORE_ENDPOINTS");
        using var process = Process.Start(info) ?? throw new InvalidOperationException("kvstore did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var guard = new CancellationTokenSource(HangGuard);
        try
        {
            await process.WaitForExitAsync(guard.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"kvstore {string.Join(' ', arguments)} did not exit");
        }

        return (process.ExitCode, (await stdout).ReplaceLineEndings("\n"), (await stderr).ReplaceLineEndings("\n"));
    }
}
