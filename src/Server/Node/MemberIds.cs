using System.Text;

namespace KvStore.Server.Node;

/// <summary>
/// Member and cluster ids are derived from names, so that every node computes the same ids from
/// the same <c>--initial-cluster</c> without coordination (etcd does the same with a hash).
/// </summary>
/// <remarks>
/// FNV-1a 64 of the UTF-8 name. Do not change: ids are stored in the Raft log and snapshots.
/// 0 means "none" in Raft, so a name hashing to 0 gets id 1.
/// </remarks>
public static class MemberIds
{
    public static ulong ForName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return Fnv1a(Encoding.UTF8.GetBytes(name));
    }

    /// <summary>The cluster id peers compare in their handshake: the hash of the cluster token.</summary>
    public static ulong ForCluster(string clusterToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(clusterToken);
        return Fnv1a(Encoding.UTF8.GetBytes("cluster:" + clusterToken));
    }

    private static ulong Fnv1a(ReadOnlySpan<byte> bytes)
    {
        ulong hash = 14695981039346656037UL;
        foreach (byte b in bytes)
        {
            hash ^= b;
            hash *= 1099511628211UL;
        }

        return hash == 0 ? 1 : hash;
    }
}
