using KvStore.Jepsen.Cluster;

namespace KvStore.Jepsen.Nemesis;

/// <summary>Each fault is drawn from one of several nemeses (<c>--nemesis all</c>, or a comma list).</summary>
public sealed class MixedNemesis(IReadOnlyList<INemesis> nemeses) : INemesis
{
    public string Name => string.Join("+", nemeses.Select(n => n.Name));

    public Task<IActiveFault?> InjectAsync(ClusterUnderTest cluster, Random random, CancellationToken cancellationToken) =>
        nemeses[random.Next(nemeses.Count)].InjectAsync(cluster, random, cancellationToken);
}
