using KvStore.Storage.IO;
using KvStore.Storage.Log;

namespace KvStore.Storage.Tests.Log;

public sealed class SegmentedLogStoreContractTests : RaftLogStoreContractTests
{
    private readonly FaultInjectingFileSystem _fileSystem = new();

    // Small segments so that the contract tests also cross segment rolls.
    protected override IRaftLogStore OpenStore() =>
        SegmentedLogStore.Open(_fileSystem, "/node/raftlog", new SegmentedLogStoreOptions { SegmentBytes = 4096 });
}
