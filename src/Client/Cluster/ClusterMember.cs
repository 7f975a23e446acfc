using Wire = KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>A member of the cluster's configuration.</summary>
/// <param name="Id">The member id.</param>
/// <param name="Name">The member's name.</param>
/// <param name="PeerUrls">Where peers reach it.</param>
/// <param name="ClientUrls">Where clients reach it.</param>
/// <param name="IsLearner">True for a non-voting learner (not yet promoted).</param>
public sealed record ClusterMember(ulong Id, string Name, IReadOnlyList<string> PeerUrls, IReadOnlyList<string> ClientUrls, bool IsLearner)
{
    /// <summary>Converts the wire message.</summary>
    public static ClusterMember FromMessage(Wire.Member member)
    {
        ArgumentNullException.ThrowIfNull(member);
        return new(member.Id, member.Name, member.PeerUrls.ToArray(), member.ClientUrls.ToArray(), member.IsLearner);
    }
}
