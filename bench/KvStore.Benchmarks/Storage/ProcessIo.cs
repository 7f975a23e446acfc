using System.Globalization;

namespace KvStore.Benchmarks.Storage;

/// <summary>
/// Bytes this process handed to write(2) and friends, from /proc/self/io ("wchar"): the same
/// yardstick for every engine, native or managed, whatever it reports about itself. Engines
/// run one after another, so the difference across a phase is that engine's writes.
/// </summary>
public static class ProcessIo
{
    public static bool IsAvailable => File.Exists("/proc/self/io");

    /// <summary>Bytes written so far, or 0 where /proc/self/io does not exist.</summary>
    public static long BytesWritten()
    {
        if (!IsAvailable)
        {
            return 0;
        }

        foreach (string line in File.ReadLines("/proc/self/io"))
        {
            if (line.StartsWith("wchar:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim(), CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }
}
