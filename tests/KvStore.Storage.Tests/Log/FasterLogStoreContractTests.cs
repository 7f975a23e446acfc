using KvStore.Storage.Log;

namespace KvStore.Storage.Tests.Log;

public sealed class FasterLogStoreContractTests : RaftLogStoreContractTests
{
    private readonly string _directory = Directory.CreateTempSubdirectory("kvstore-fasterlog-").FullName;

    // Small pages and checkpoints so that the contract tests also cross pages and checkpoints.
    protected override IRaftLogStore OpenStore() =>
        FasterLogStore.Open(_directory, new FasterLogStoreOptions { PageSizeBits = 20, MemorySizeBits = 22, SegmentSizeBits = 22, CheckpointIntervalBytes = 8192 });

    public override void Dispose()
    {
        base.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
