using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;

namespace KvStore.Server.Cli;

/// <summary>How to start another `kvstore` process: the native launcher, or the dotnet host with kvstore.dll.</summary>
public sealed record KvStoreExecutable(string FileName, IReadOnlyList<string> LeadingArguments)
{
    /// <summary>This very executable (apphost `kvstore`, or `dotnet kvstore.dll`).</summary>
    public static KvStoreExecutable Current()
    {
        string? process = Environment.ProcessPath;
        if (process is not null && Path.GetFileNameWithoutExtension(process) == "kvstore")
        {
            return new KvStoreExecutable(process, []);
        }

        string dll = Assembly.GetEntryAssembly()?.Location is { Length: > 0 } location ? location : Path.Combine(AppContext.BaseDirectory, "kvstore.dll");
        return ForDll(dll);
    }

    /// <summary>`dotnet <paramref name="dll"/>`, e.g. from a test whose output holds kvstore.dll.</summary>
    public static KvStoreExecutable ForDll(string dll) => new(DotnetHost(), [dll]);

    public ProcessStartInfo StartInfo(IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(FileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
        };
        foreach (string a in LeadingArguments.Concat(arguments))
        {
            info.ArgumentList.Add(a);
        }

        return info;
    }

    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }

        if (Environment.ProcessPath is { } process && Path.GetFileNameWithoutExtension(process) == "dotnet")
        {
            return process;
        }

        // shared/Microsoft.NETCore.App/<version>/ -> the dotnet root three levels up.
        string runtime = RuntimeEnvironment.GetRuntimeDirectory().TrimEnd(Path.DirectorySeparatorChar);
        string? root = Directory.GetParent(runtime)?.Parent?.Parent?.FullName;
        string candidate = root is null ? "dotnet" : Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
        return File.Exists(candidate) ? candidate : "dotnet";
    }
}
