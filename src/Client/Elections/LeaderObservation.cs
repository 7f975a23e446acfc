namespace KvStore.Client;

/// <summary>One state of an observed election: its leader (key and value), or none.</summary>
/// <param name="Leader">The leader key with the leader's value; null when the election has no leader.</param>
/// <param name="Revision">The store revision the state was read at.</param>
public sealed record LeaderObservation(KvPair? Leader, long Revision);
