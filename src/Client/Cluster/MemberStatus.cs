using Wire = KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>What one member reports about itself.</summary>
/// <param name="Endpoint">The endpoint that answered.</param>
/// <param name="Name">The member's name.</param>
/// <param name="MemberId">The member's id.</param>
/// <param name="ClusterId">The cluster's id.</param>
/// <param name="LeaderId">The leader this member knows; 0 if none.</param>
/// <param name="IsLeader">True when this member is the leader.</param>
/// <param name="IsLearner">True when this member is a learner.</param>
/// <param name="RaftTerm">Its Raft term.</param>
/// <param name="CommitIndex">Its Raft commit index.</param>
/// <param name="AppliedIndex">Its applied index.</param>
/// <param name="Revision">Its store revision.</param>
/// <param name="DbSizeBytes">The size of its data on disk.</param>
/// <param name="Version">Its server version.</param>
/// <param name="Errors">Problems it reports (e.g. no leader).</param>
public sealed record MemberStatus(
    string Endpoint,
    string Name,
    ulong MemberId,
    ulong ClusterId,
    ulong LeaderId,
    bool IsLeader,
    bool IsLearner,
    ulong RaftTerm,
    ulong CommitIndex,
    ulong AppliedIndex,
    long Revision,
    long DbSizeBytes,
    string Version,
    IReadOnlyList<string> Errors)
{
    /// <summary>Converts the wire message answered by <paramref name="endpoint"/>.</summary>
    public static MemberStatus FromMessage(string endpoint, Wire.StatusResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var header = response.Header ?? new Wire.ResponseHeader();
        return new(
            endpoint,
            response.Name,
            header.MemberId,
            header.ClusterId,
            response.Leader,
            response.IsLeader,
            response.IsLearner,
            response.RaftTerm,
            response.RaftCommitIndex,
            response.RaftAppliedIndex,
            header.Revision,
            response.DbSizeBytes,
            response.Version,
            response.Errors.ToArray());
    }
}
