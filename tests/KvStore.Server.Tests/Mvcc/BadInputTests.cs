using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using KvStore.Raft.Core;
using KvStore.Server.Mvcc;
using KvStore.Server.Protos;
using KvStore.Storage.IO;

namespace KvStore.Server.Tests.Mvcc;

/// <summary>Bad requests come back as typed error results naming the problem; Apply never throws for them and applies nothing of them.</summary>
public sealed class BadInputTests : IDisposable
{
    private readonly KvStateMachine _machine = KvStateMachine.Open("/db", new FaultInjectingFileSystem());

    public void Dispose() => _machine.Dispose();

    [Fact]
    public void GarbageEntryIsAnErrorAndStillAdvancesTheAppliedIndex()
    {
        IReadOnlyList<object?> results = _machine.Apply([Entry.Normal(1, 1, new byte[] { 0xFF, 0xFF, 0xFF, 0x0F })]);

        Error error = Assert.IsType<Error>(Assert.Single(results));
        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Contains("not a KvCommand", error.Message);
        Assert.Equal(1, _machine.AppliedIndex);
    }

    [Fact]
    public void CommandWithoutAnOperationIsRefused() =>
        AssertRefused(new KvCommand { IssuedAtUnixMs = 5 }, ErrorCode.InvalidArgument, "no operation");

    [Fact]
    public void EmptyKeyIsRefused()
    {
        AssertRefused(new KvCommand { Put = new PutRequest { Value = Bytes("v") } }, ErrorCode.InvalidArgument, "key is empty");
        AssertRefused(new KvCommand { DeleteRange = new DeleteRangeRequest() }, ErrorCode.InvalidArgument, "key is empty");
    }

    [Fact]
    public void NegativeLimitIsRefusedInARangeAndInsideATxn()
    {
        var range = new RangeRequest { Key = Bytes("a"), Limit = -1 };
        var direct = Assert.Throws<MvccException>(() => _machine.Store.Range(range));
        Assert.Equal(ErrorCode.InvalidArgument, direct.Code);
        Assert.Contains("limit -1 is negative", direct.Message);

        AssertRefused(new KvCommand { Txn = new TxnRequest { Success = { new RequestOp { RequestRange = range } } } }, ErrorCode.InvalidArgument, "limit -1 is negative");
    }

    [Fact]
    public void UnknownSortOrderIsRefused()
    {
        var e = Assert.Throws<MvccException>(() => _machine.Store.Range(new RangeRequest { Key = Bytes("a"), SortOrder = (RangeRequest.Types.SortOrder)9 }));
        Assert.Equal(ErrorCode.InvalidArgument, e.Code);
    }

    [Fact]
    public void DuplicateKeysInATxnAreRefusedLikeEtcd()
    {
        var twoPuts = new TxnRequest
        {
            Success = { PutOp("k", "1"), PutOp("k", "2") },
        };
        var putAndDelete = new TxnRequest
        {
            Failure = { PutOp("key", "1"), new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = Bytes("k"), RangeEnd = Bytes("l") } } },
        };
        var nested = new TxnRequest
        {
            Success = { PutOp("k", "1"), new RequestOp { RequestTxn = new TxnRequest { Failure = { PutOp("k", "2") } } } },
        };

        AssertRefused(new KvCommand { Txn = twoPuts }, ErrorCode.InvalidArgument, "duplicate key given in txn request");
        AssertRefused(new KvCommand { Txn = putAndDelete }, ErrorCode.InvalidArgument, "duplicate key given in txn request");
        AssertRefused(new KvCommand { Txn = nested }, ErrorCode.InvalidArgument, "duplicate key given in txn request");
    }

    [Fact]
    public void SameKeyInTheTwoBranchesOfATxnIsFine()
    {
        var txn = new TxnRequest { Success = { PutOp("k", "yes") }, Failure = { PutOp("k", "no") } };

        var response = Assert.IsType<TxnResponse>(_machine.ApplyCommand(new KvCommand { Txn = txn }));

        Assert.True(response.Succeeded);
        Assert.Equal(1, _machine.Store.CurrentRevision);
    }

    [Fact]
    public void FailingOperationInsideATxnAppliesNoneOfIt()
    {
        var txn = new TxnRequest
        {
            Success =
            {
                PutOp("a", "1"),
                new RequestOp { RequestPut = new PutRequest { Key = Bytes("missing"), IgnoreValue = true } },
            },
        };

        AssertRefused(new KvCommand { Txn = txn }, ErrorCode.KeyNotFound, "does not exist");
        Assert.Null(_machine.Store.Get("a"u8.ToArray(), _machine.Store.CurrentRevision));
    }

    [Fact]
    public void IgnoreValueWithAValueIsRefused() =>
        AssertRefused(new KvCommand { Put = new PutRequest { Key = Bytes("a"), Value = Bytes("v"), IgnoreValue = true } }, ErrorCode.InvalidArgument, "ignore_value");

    [Fact]
    public void FenceCompareOverARangeIsRefused()
    {
        var txn = new TxnRequest { Compare = { new Compare { Key = Bytes("lock"), RangeEnd = Bytes("lock0"), Target = Compare.Types.CompareTarget.Fence, FencingToken = 3 } } };

        AssertRefused(new KvCommand { Txn = txn }, ErrorCode.InvalidArgument, "FENCE");
    }

    [Fact]
    public void ReadsAtFutureAndCompactedRevisionsAreRefused()
    {
        for (int i = 0; i < 5; i++)
        {
            _machine.ApplyCommand(KvCommands.Put("k", i.ToString()));
        }

        _machine.ApplyCommand(new KvCommand { Compact = new CompactionRequest { Revision = 3 } });

        var future = Assert.Throws<MvccException>(() => _machine.Store.Range(new RangeRequest { Key = Bytes("k"), Revision = 6 }));
        var compacted = Assert.Throws<MvccException>(() => _machine.Store.Range(new RangeRequest { Key = Bytes("k"), Revision = 2 }));
        Assert.Equal(ErrorCode.FutureRevision, future.Code);
        Assert.Equal(ErrorCode.Compacted, compacted.Code);
        Assert.Contains("compacted revision is 3", compacted.Message);
        Assert.Equal("2", _machine.Store.Range(new RangeRequest { Key = Bytes("k"), Revision = 3 }).Kvs[0].Value.ToStringUtf8());
        AssertRefused(new KvCommand { Compact = new CompactionRequest { Revision = 3 } }, ErrorCode.Compacted, "compacted");
        AssertRefused(new KvCommand { Compact = new CompactionRequest { Revision = 9 } }, ErrorCode.FutureRevision, "newer than the current revision 5");
    }

    private void AssertRefused(KvCommand command, ErrorCode code, string messagePart)
    {
        long revision = _machine.Store.CurrentRevision;
        long applied = _machine.AppliedIndex;

        var error = Assert.IsType<Error>(_machine.ApplyCommand(command));

        Assert.Equal(code, error.Code);
        Assert.Contains(messagePart, error.Message);
        Assert.Equal(revision, _machine.Store.CurrentRevision);
        Assert.Equal(applied + 1, _machine.AppliedIndex);
    }

    private static ByteString Bytes(string s) => ByteString.CopyFromUtf8(s);

    private static RequestOp PutOp(string key, string value) => new() { RequestPut = new PutRequest { Key = Bytes(key), Value = Bytes(value) } };
}
