namespace KvStore.Benchmarks.Storage;

/// <summary>The engines the storage benchmark knows, ours first.</summary>
public static class EngineCatalog
{
    public const string Ours = "kvstore";

    public static IReadOnlyList<EngineDescriptor> All { get; } =
    [
        new(Ours, KvStoreEngine.Settings, (dir, _) => KvStoreEngine.Open(dir)),
        new("rocksdb", RocksDbEngine.Settings, (dir, _) => RocksDbEngine.Open(dir)),
        new("zonetree", ZoneTreeEngine.Settings, (dir, _) => ZoneTreeEngine.Open(dir)),
        new("faster", FasterKvEngine.Settings, FasterKvEngine.Open),
    ];

    public static EngineDescriptor? Find(string name) =>
        All.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase));
}
