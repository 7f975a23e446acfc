namespace KvStore.Jepsen.Tests.ReferenceHistories;

/// <summary>
/// Finds <c>../shared/histories</c> next to the repository: walks up from the test assembly to the
/// directory holding KvStore.sln, then to its sibling <c>shared/histories</c>. The layout is the
/// same in CI (a fresh clone with shared/ beside it).
/// </summary>
internal static class SharedHistories
{
    /// <summary>The histories directory, or null with the reason it was not found.</summary>
    public static string? Locate(out string problem)
    {
        string? directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "KvStore.sln")))
        {
            directory = Path.GetDirectoryName(directory.TrimEnd(Path.DirectorySeparatorChar));
        }
        if (directory is null)
        {
            problem = $"no directory holding KvStore.sln above the test assembly ({AppContext.BaseDirectory})";
            return null;
        }
        string histories = Path.GetFullPath(Path.Combine(directory, "..", "shared", "histories"));
        if (!Directory.Exists(histories))
        {
            problem = $"the reference histories are missing: expected {histories} (shared/ beside the repository root {directory})";
            return null;
        }
        problem = "";
        return histories;
    }

    /// <summary>The histories directory; fails the calling test with a clear message when absent.</summary>
    public static string Require() =>
        Locate(out string problem) ?? throw new Xunit.Sdk.XunitException(problem);
}
