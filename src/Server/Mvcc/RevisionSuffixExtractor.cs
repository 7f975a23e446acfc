using KvStore.Storage.Lsm;

namespace KvStore.Server.Mvcc;

/// <summary>
/// Builds the LSM's Bloom filters on version prefixes ('k' | esc(K) | terminator, see
/// <see cref="MvccKeys"/>) instead of whole version keys, so "latest version of K" (an iterator
/// with <c>ReadOptions.Prefix</c> = the version prefix) skips every table that never held K.
/// A bare prefix maps to itself, which the LSM requires before it trusts the filter for a prefix
/// scan. Keys of other namespaces are outside the domain and are never filtered out.
/// </summary>
public sealed class RevisionSuffixExtractor : IKeyPrefixExtractor
{
    public static RevisionSuffixExtractor Instance { get; } = new();

    /// <summary>Stored in every table: a table built with another extractor is not filtered by this one.</summary>
    public string Name => "kvstore.mvcc.version-prefix.v1";

    public bool InDomain(ReadOnlySpan<byte> userKey) => MvccKeys.VersionPrefixLength(userKey) > 0;

    public ReadOnlySpan<byte> Prefix(ReadOnlySpan<byte> userKey) => userKey[..MvccKeys.VersionPrefixLength(userKey)];
}
