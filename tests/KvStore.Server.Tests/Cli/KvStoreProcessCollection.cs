namespace KvStore.Server.Tests.Cli;

/// <summary>
/// The test classes that start `kvstore` server processes run one after another, not in
/// parallel: each starts its own cluster, and several starting at once on two shared cores
/// would only make every one of them slow.
/// </summary>
[CollectionDefinition(Name)]
public sealed class KvStoreProcessCollection
{
    public const string Name = "kvstore processes";
}
