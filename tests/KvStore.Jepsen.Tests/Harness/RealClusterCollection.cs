namespace KvStore.Jepsen.Tests.Harness;

/// <summary>Tests that start real clusters run one at a time: two at once on a 2-core machine would
/// starve each other's nodes into elections that measure the machine, not KvStore.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealClusterCollection
{
    public const string Name = "real clusters";
}
