using System.Runtime.InteropServices;

namespace KvStore.Benchmarks.Storage;

/// <summary>One line naming the machine a result came from (cores, CPU model, OS, runtime).</summary>
public static class MachineDescription
{
    public static string Describe()
    {
        string cpu = "unknown CPU";
        if (File.Exists("/proc/cpuinfo"))
        {
            string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null)
            {
                cpu = line[(line.IndexOf(':') + 1)..].Trim();
            }
        }

        return $"{Environment.ProcessorCount} cores, {cpu}, {RuntimeInformation.OSDescription.Trim()}, {RuntimeInformation.FrameworkDescription}";
    }
}
