using KvStore.Jepsen.Cluster;

namespace KvStore.Jepsen.Nemesis;

/// <summary>A kind of fault. Each call injects one fault, chosen with the run's seeded random source.</summary>
public interface INemesis
{
    string Name { get; }

    /// <summary>Injects a fault, or returns null when none applies now (e.g. the leader is unknown).</summary>
    Task<IActiveFault?> InjectAsync(ClusterUnderTest cluster, Random random, CancellationToken cancellationToken);
}
