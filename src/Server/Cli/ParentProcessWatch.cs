using System.Diagnostics;
using System.Globalization;

namespace KvStore.Server.Cli;

/// <summary>
/// Ends a child `serve` when the `cluster up` (or test) that started it is gone, even if that
/// parent was SIGKILLed and could not stop its children: no orphans.
/// </summary>
/// <remarks>
/// On Linux a child whose parent dies is re-parented, so the parent pid in /proc/self/stat stops
/// being the one given; this cannot be fooled by pid reuse. Elsewhere the pid is looked up.
/// </remarks>
public static class ParentProcessWatch
{
    public static async Task WaitForExitAsync(int parentPid, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (!IsParentAlive(parentPid))
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool IsParentAlive(int parentPid)
    {
        const string stat = "/proc/self/stat";
        if (File.Exists(stat))
        {
            // Format: pid (comm) state ppid ...; comm may hold spaces or parentheses, so parse after the last ')'.
            string text = File.ReadAllText(stat);
            string[] fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1], CultureInfo.InvariantCulture) == parentPid;
        }

        try
        {
            using var process = Process.GetProcessById(parentPid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
