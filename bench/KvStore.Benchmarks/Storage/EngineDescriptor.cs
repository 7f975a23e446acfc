namespace KvStore.Benchmarks.Storage;

/// <summary>A named engine the runner can open, with the settings it is opened with (for the report).</summary>
/// <param name="Open">Opens (creating) a database in a directory, given the number of keys the run will write.</param>
public sealed record EngineDescriptor(string Name, string Settings, Func<string, long, IBenchEngine> Open);
