using System.Reflection;

namespace KvStore.Benchmarks;

/// <summary>
/// Finds a runner class by name and calls its <c>static int Run(string[] args)</c>.
/// The log store and Raft runners are written on other branches; looking them up by
/// name keeps this executable building (and saying so clearly) before they are merged.
/// </summary>
public static class BenchmarkEntryPoint
{
    /// <summary>Exit code when the runner is not part of this build.</summary>
    public const int NotBuiltExitCode = 2;

    public static int Invoke(string typeName, string verb, string[] args)
    {
        Type? type = typeof(BenchmarkEntryPoint).Assembly.GetType(typeName, throwOnError: false);
        MethodInfo? run = type?.GetMethod(
            "Run", BindingFlags.Public | BindingFlags.Static, binder: null, types: [typeof(string[])], modifiers: null);
        if (run is null || run.ReturnType != typeof(int))
        {
            Console.Error.WriteLine(
                $"error: the '{verb}' benchmark is not built yet: this build has no {typeName}.Run(string[]) returning int.");
            return NotBuiltExitCode;
        }

        try
        {
            return (int)run.Invoke(null, [args])!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            // Surface the runner's own exception, not the reflection wrapper.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }
}
