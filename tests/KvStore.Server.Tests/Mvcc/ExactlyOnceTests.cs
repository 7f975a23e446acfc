using KvStore.Client.Protocol.Messages;
using KvStore.Server.Mvcc;
using KvStore.Server.Protos;
using KvStore.Storage.IO;

namespace KvStore.Server.Tests.Mvcc;

/// <summary>Client sessions: a retried command is applied once; stale and expired sessions are refused (Raft dissertation §6.3).</summary>
public sealed class ExactlyOnceTests
{
    private static readonly KvStateMachineOptions ShortSessions = new()
    {
        SessionTtl = TimeSpan.FromSeconds(10),
        ExpiredSessionRetention = TimeSpan.FromSeconds(100),
    };

    [Fact]
    public void RetriedCommandIsAppliedOnceAndGetsTheSameResponse()
    {
        using KvStateMachine machine = KvStateMachine.Open("/db", new FaultInjectingFileSystem());
        machine.ApplyCommand(KvCommands.Put("k", "v0"));
        KvCommand put = KvCommands.Put("k", "v1", client: 7, sequence: 1, issuedAt: 1000);

        var first = (PutResponse)machine.ApplyCommand(put);
        var retry = (PutResponse)machine.ApplyCommand(put);

        Assert.Equal(first, retry);
        Assert.Equal("v0", retry.PrevKv.Value.ToStringUtf8());
        Assert.Equal(2, machine.Store.CurrentRevision);
        KeyValue stored = machine.Store.Get("k"u8.ToArray(), machine.Store.CurrentRevision)!;
        Assert.Equal(2, stored.Version);
    }

    [Fact]
    public void RetriedTxnWhoseCompareWouldNowFailStillGetsItsOriginalAnswer()
    {
        using KvStateMachine machine = KvStateMachine.Open("/db", new FaultInjectingFileSystem());
        var casCommand = new KvCommand
        {
            ClientId = 3,
            Sequence = 1,
            Txn = new TxnRequest
            {
                Compare = { new Compare { Key = Google.Protobuf.ByteString.CopyFromUtf8("lock"), Target = Compare.Types.CompareTarget.Version, Version = 0 } },
                Success = { new RequestOp { RequestPut = new PutRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8("lock"), Value = Google.Protobuf.ByteString.CopyFromUtf8("me") } } },
            },
        };

        var first = (TxnResponse)machine.ApplyCommand(casCommand);
        var retry = (TxnResponse)machine.ApplyCommand(casCommand);

        Assert.True(first.Succeeded);
        Assert.Equal(first, retry);
        Assert.Equal(1, machine.Store.CurrentRevision);
    }

    [Fact]
    public void LowerSequenceIsRefusedAsStaleAndChangesNothing()
    {
        using KvStateMachine machine = KvStateMachine.Open("/db", new FaultInjectingFileSystem());
        machine.ApplyCommand(KvCommands.Put("a", "1", client: 5, sequence: 1));
        machine.ApplyCommand(KvCommands.Put("a", "2", client: 5, sequence: 2));

        var stale = Assert.IsType<Error>(machine.ApplyCommand(KvCommands.Put("a", "3", client: 5, sequence: 1)));

        Assert.Equal(ErrorCode.InvalidArgument, stale.Code);
        Assert.Contains("stale sequence", stale.Message);
        Assert.Equal(2, machine.Store.CurrentRevision);
        Assert.Equal("2", machine.Store.Get("a"u8.ToArray(), 2)!.Value.ToStringUtf8());
    }

    [Fact]
    public void SessionUntouchedForTheTtlExpiresByTheCommandsClock()
    {
        using KvStateMachine machine = KvStateMachine.Open("/db", new FaultInjectingFileSystem(), ShortSessions);
        machine.ApplyCommand(KvCommands.Put("a", "1", client: 1, sequence: 1, issuedAt: 1_000));
        machine.ApplyCommand(KvCommands.Put("b", "1", client: 2, sequence: 1, issuedAt: 1_000));
        // Client 2 keeps its session alive; client 1 goes quiet.
        machine.ApplyCommand(KvCommands.Put("b", "2", client: 2, sequence: 2, issuedAt: 9_000));
        machine.ApplyCommand(KvCommands.Put("b", "3", client: 2, sequence: 3, issuedAt: 17_000));

        var expired = Assert.IsType<Error>(machine.ApplyCommand(KvCommands.Put("a", "2", client: 1, sequence: 2, issuedAt: 17_500)));
        var alive = Assert.IsType<PutResponse>(machine.ApplyCommand(KvCommands.Put("b", "4", client: 2, sequence: 4, issuedAt: 18_000)));

        Assert.Equal(ErrorCode.SessionExpired, expired.Code);
        Assert.Equal("3", alive.PrevKv.Value.ToStringUtf8());
        // A retry of client 1's applied first command is refused too, never applied again.
        Assert.Equal(ErrorCode.SessionExpired, Assert.IsType<Error>(machine.ApplyCommand(KvCommands.Put("a", "1", client: 1, sequence: 1, issuedAt: 19_000))).Code);
        Assert.Equal(1, machine.Store.Get("a"u8.ToArray(), machine.Store.CurrentRevision)!.Version);
    }

    [Fact]
    public void ClockNeverGoesBackWhenALeaderWithASlowClockProposes()
    {
        using KvStateMachine machine = KvStateMachine.Open("/db", new FaultInjectingFileSystem(), ShortSessions);
        machine.ApplyCommand(KvCommands.Put("a", "1", client: 1, sequence: 1, issuedAt: 1_000));
        machine.ApplyCommand(KvCommands.Put("x", "1", issuedAt: 20_000));

        // A new leader whose clock lags: the session stays expired.
        var error = Assert.IsType<Error>(machine.ApplyCommand(KvCommands.Put("a", "2", client: 1, sequence: 2, issuedAt: 2_000)));

        Assert.Equal(ErrorCode.SessionExpired, error.Code);
    }

    [Fact]
    public void ExpiredSessionIdIsForgottenAfterTheRetentionAndMayStartAgain()
    {
        using KvStateMachine machine = KvStateMachine.Open("/db", new FaultInjectingFileSystem(), ShortSessions);
        machine.ApplyCommand(KvCommands.Put("a", "1", client: 1, sequence: 1, issuedAt: 1_000));
        machine.ApplyCommand(KvCommands.Put("x", "1", issuedAt: 12_000));
        machine.ApplyCommand(KvCommands.Put("x", "2", issuedAt: 113_000));

        Assert.IsType<PutResponse>(machine.ApplyCommand(KvCommands.Put("a", "2", client: 1, sequence: 1, issuedAt: 113_500)));
        Assert.DoesNotContain(KvCommands.Dump(machine.Store), e => e.StartsWith(Convert.ToHexString("x"u8), StringComparison.Ordinal));
    }

    [Fact]
    public void ReplicasFedTheSameLogExpireTheSameSessionsAndReachTheSameState()
    {
        List<Raft.Core.Entry> log = KvCommands.RandomLog(new Random(11), 300);
        var options = new KvStateMachineOptions { SessionTtl = TimeSpan.FromSeconds(3), ExpiredSessionRetention = TimeSpan.FromSeconds(10) };
        using KvStateMachine a = KvStateMachine.Open("/a", new FaultInjectingFileSystem(), options);
        using KvStateMachine b = KvStateMachine.Open("/b", MvccStore.LsmOptionsFor(new FaultInjectingFileSystem()) with { MemtableSizeBytes = 4 << 10 }, options);

        IReadOnlyList<object?> resultsA = a.Apply(log);
        var resultsB = new List<object?>();
        foreach (Raft.Core.Entry entry in log)
        {
            resultsB.AddRange(b.Apply([entry]));
        }

        Assert.Equal(resultsA, resultsB);
        Assert.Equal(KvCommands.Dump(a.Store), KvCommands.Dump(b.Store));
        Assert.Contains(resultsA, r => r is Error { Code: ErrorCode.SessionExpired });
    }

    [Fact]
    public void SessionsSurviveARestart()
    {
        var fs = new FaultInjectingFileSystem();
        KvCommand put = KvCommands.Put("k", "v", client: 9, sequence: 4, issuedAt: 5_000);
        object first;
        using (KvStateMachine machine = KvStateMachine.Open("/db", fs))
        {
            first = machine.ApplyCommand(put);
        }

        using KvStateMachine reopened = KvStateMachine.Open("/db", fs);
        Assert.Equal(1, reopened.AppliedIndex);
        Assert.Equal(first, reopened.ApplyCommand(put));
        Assert.Equal(1, reopened.Store.CurrentRevision);
    }
}
