namespace KvStore.Benchmarks.Storage;

/// <summary>Bytes of all files under a directory: the space an engine's data takes on disk.</summary>
public static class DirectorySize
{
    public static long Of(string directory) =>
        Directory.Exists(directory)
            ? new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length)
            : 0;
}
