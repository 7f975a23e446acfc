namespace KvStore.Client.Recipes;

/// <summary>A change of this candidate's leadership, as <see cref="LeaderElection"/> reports it.</summary>
/// <param name="IsLeader">Whether the candidate leads from now on.</param>
/// <param name="Leader">The leader key while leading (its <see cref="ElectionLeaderKey.Revision"/> is the fencing token); null otherwise.</param>
public sealed record LeadershipChange(bool IsLeader, ElectionLeaderKey? Leader)
{
    /// <summary>The fencing token of this term of leadership; 0 when not leading.</summary>
    public long FencingToken => Leader?.Revision ?? 0;
}
