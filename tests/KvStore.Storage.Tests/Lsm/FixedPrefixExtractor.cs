using KvStore.Storage.Lsm;

namespace KvStore.Storage.Tests.Lsm;

/// <summary>The first <c>length</c> bytes of a key (keys shorter than that are outside the domain).</summary>
internal sealed class FixedPrefixExtractor(int length) : IKeyPrefixExtractor
{
    public string Name => $"test.fixed{length}";

    public bool InDomain(ReadOnlySpan<byte> userKey) => userKey.Length >= length;

    public ReadOnlySpan<byte> Prefix(ReadOnlySpan<byte> userKey) => userKey[..length];
}
