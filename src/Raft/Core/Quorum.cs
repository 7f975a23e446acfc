namespace KvStore.Raft.Core;

/// <summary>Outcome of counting votes (or heartbeat acknowledgements).</summary>
internal enum VoteResult
{
    Pending,
    Lost,
    Won,
}

/// <summary>
/// Majority quorum math over one voter set, and over a joint pair (dissertation §4.3: during a
/// joint configuration a decision needs a majority of BOTH the old and the new voters).
/// </summary>
internal static class Quorum
{
    /// <summary>
    /// The highest index that a majority of <paramref name="voters"/> have (per <paramref name="match"/>).
    /// An empty voter set commits everything, so a non-joint pair reduces to its incoming half.
    /// </summary>
    public static long CommittedIndex(IReadOnlyCollection<ulong> voters, Func<ulong, long> match)
    {
        if (voters.Count == 0)
        {
            return long.MaxValue;
        }
        var indexes = new long[voters.Count];
        int i = 0;
        foreach (ulong id in voters)
        {
            indexes[i++] = match(id);
        }
        Array.Sort(indexes);
        // Sorted ascending: the element at n - (n/2 + 1) is held by at least n/2+1 voters.
        return indexes[voters.Count - (voters.Count / 2 + 1)];
    }

    public static long JointCommittedIndex(IReadOnlyCollection<ulong> incoming, IReadOnlyCollection<ulong> outgoing, Func<ulong, long> match) =>
        Math.Min(CommittedIndex(incoming, match), CommittedIndex(outgoing, match));

    /// <summary><paramref name="vote"/> returns true (granted), false (rejected) or null (not heard).</summary>
    public static VoteResult Result(IReadOnlyCollection<ulong> voters, Func<ulong, bool?> vote)
    {
        if (voters.Count == 0)
        {
            return VoteResult.Won;
        }
        int granted = 0, missing = 0;
        foreach (ulong id in voters)
        {
            switch (vote(id))
            {
                case true: granted++; break;
                case null: missing++; break;
            }
        }
        int quorum = voters.Count / 2 + 1;
        if (granted >= quorum)
        {
            return VoteResult.Won;
        }
        return granted + missing >= quorum ? VoteResult.Pending : VoteResult.Lost;
    }

    public static VoteResult JointResult(IReadOnlyCollection<ulong> incoming, IReadOnlyCollection<ulong> outgoing, Func<ulong, bool?> vote)
    {
        var a = Result(incoming, vote);
        var b = Result(outgoing, vote);
        if (a == b)
        {
            return a;
        }
        if (a == VoteResult.Lost || b == VoteResult.Lost)
        {
            return VoteResult.Lost;
        }
        return VoteResult.Pending;
    }
}
