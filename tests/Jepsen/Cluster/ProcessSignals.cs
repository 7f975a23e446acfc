using System.Runtime.InteropServices;

namespace KvStore.Jepsen.Cluster;

/// <summary>POSIX signals the pause nemesis sends to node processes.</summary>
public static partial class ProcessSignals
{
    private const int SigStop = 19;
    private const int SigCont = 18;

    /// <summary>Freezes the process: its sockets stay open but nothing is read or answered.</summary>
    public static void Stop(int pid) => Send(pid, SigStop, "SIGSTOP");

    public static void Continue(int pid) => Send(pid, SigCont, "SIGCONT");

    private static void Send(int pid, int signal, string name)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException($"{name} needs Linux signal numbers");
        }

        if (Kill(pid, signal) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new InvalidOperationException($"{name} to process {pid} failed (errno {errno})");
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
