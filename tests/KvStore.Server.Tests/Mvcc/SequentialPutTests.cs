using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using KvStore.Raft.Core;
using KvStore.Server.Mvcc;
using KvStore.Server.Protos;
using KvStore.Storage.IO;

namespace KvStore.Server.Tests.Mvcc;

/// <summary>Sequential puts: per-prefix, zero-padded, strictly increasing numbers that are never reused.</summary>
public sealed class SequentialPutTests : IDisposable
{
    private readonly KvStateMachine _machine = KvStateMachine.Open("/db", new FaultInjectingFileSystem());

    public void Dispose() => _machine.Dispose();

    [Fact]
    public void EachPrefixCountsOnItsOwnAndTheResponseNamesTheKey()
    {
        Assert.Equal("q/00000000000000000001", PutSequential("q/"));
        Assert.Equal("q/00000000000000000002", PutSequential("q/"));
        Assert.Equal("r/00000000000000000001", PutSequential("r/"));
        Assert.Equal("q/00000000000000000003", PutSequential("q/"));

        var kvs = _machine.Store.Range(new RangeRequest { Key = ByteString.CopyFromUtf8("q/"), RangeEnd = ByteString.CopyFromUtf8("q0") }).Kvs;
        Assert.Equal(["q/00000000000000000001", "q/00000000000000000002", "q/00000000000000000003"], kvs.Select(kv => kv.Key.ToStringUtf8()));
        Assert.All(kvs, kv => Assert.Equal("v", kv.Value.ToStringUtf8()));
    }

    [Fact]
    public void NumbersAreNeverReusedAfterDeletesCompactionAndASnapshot()
    {
        PutSequential("job-");
        PutSequential("job-");
        _machine.ApplyCommand(new KvCommand { DeleteRange = new DeleteRangeRequest { Key = ByteString.CopyFromUtf8("job-"), RangeEnd = ByteString.CopyFromUtf8("job.") } });
        _machine.ApplyCommand(new KvCommand { Compact = new CompactionRequest { Revision = _machine.Store.CurrentRevision } });

        using KvStateMachine restored = KvStateMachine.Open("/restored", new FaultInjectingFileSystem());
        restored.Restore(new Snapshot(new SnapshotMetadata(_machine.AppliedIndex, 1, new ConfState()), _machine.TakeSnapshot()));

        Assert.Equal("job-00000000000000000003", PutSequential("job-"));
        Assert.Equal("job-00000000000000000003", Assert.IsType<PutResponse>(restored.ApplyCommand(SequentialPut("job-"))).Key.ToStringUtf8());
    }

    [Fact]
    public void ASequentialPutInATxnReportsItsKey()
    {
        var txn = new TxnRequest();
        txn.Success.Add(new RequestOp { RequestPut = SequentialPut("t/").Put });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8("plain"), Value = ByteString.CopyFromUtf8("x") } });

        var response = Assert.IsType<TxnResponse>(_machine.ApplyCommand(new KvCommand { Txn = txn }));

        Assert.Equal("t/00000000000000000001", response.Responses[0].ResponsePut.Key.ToStringUtf8());
        Assert.True(response.Responses[1].ResponsePut.Key.IsEmpty);
        Assert.Equal(1, response.Header.Revision);
    }

    [Fact]
    public void ASequentialPutCannotKeepAValueOrLease()
    {
        KvCommand put = SequentialPut("q/");
        put.Put.Value = ByteString.Empty;
        put.Put.IgnoreValue = true;

        var error = Assert.IsType<Error>(_machine.ApplyCommand(put));

        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Equal("q/00000000000000000001", PutSequential("q/"));
    }

    private string PutSequential(string prefix) => Assert.IsType<PutResponse>(_machine.ApplyCommand(SequentialPut(prefix))).Key.ToStringUtf8();

    private static KvCommand SequentialPut(string prefix) =>
        new() { Put = new PutRequest { Key = ByteString.CopyFromUtf8(prefix), Value = ByteString.CopyFromUtf8("v"), Sequential = true } };
}
