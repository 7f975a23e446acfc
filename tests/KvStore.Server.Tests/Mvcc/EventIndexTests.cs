using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using KvStore.Server.Mvcc;
using KvStore.Server.Protos;
using KvStore.Storage.IO;

namespace KvStore.Server.Tests.Mvcc;

/// <summary>The revision-ordered event index: what a watch replays, with prev_kv, atomically per revision.</summary>
public sealed class EventIndexTests
{
    [Fact]
    public void EventsComeInRevisionAndSubOrderWithPreviousVersions()
    {
        using KvStateMachine machine = KvStateMachine.Open("/db", new FaultInjectingFileSystem());
        machine.ApplyCommand(KvCommands.Put("a", "1"));
        machine.ApplyCommand(KvCommands.Put("a", "2"));
        machine.ApplyCommand(new KvCommand { DeleteRange = new DeleteRangeRequest { Key = Bytes("a") } });
        machine.ApplyCommand(new KvCommand
        {
            Txn = new TxnRequest
            {
                Success =
                {
                    new RequestOp { RequestPut = new PutRequest { Key = Bytes("c"), Value = Bytes("x") } },
                    new RequestOp { RequestPut = new PutRequest { Key = Bytes("b"), Value = Bytes("y") } },
                },
            },
        });

        IReadOnlyList<MvccEvent> events = machine.Store.ReadEvents(2, 4, withPrevKv: true);

        Assert.Equal(
            ["2/0 Put a=2 prev=1", "3/0 Delete a= prev=2", "4/0 Put c=x prev=", "4/1 Put b=y prev="],
            events.Select(e => $"{e.Revision}/{e.Sub} {e.Type} {e.Kv.Key.ToStringUtf8()}={e.Kv.Value.ToStringUtf8()} prev={e.PrevKv?.Value.ToStringUtf8()}").ToList());
        Assert.Equal(2, events[0].Kv.Version);
        Assert.Equal(1, events[0].Kv.CreateRevision);
    }

    [Fact]
    public void CompactionDropsEventsBelowTheCompactedRevisionOnly()
    {
        using KvStateMachine machine = KvStateMachine.Open("/db", new FaultInjectingFileSystem());
        for (int i = 0; i < 6; i++)
        {
            machine.ApplyCommand(KvCommands.Put("k" + (i % 2), i.ToString()));
        }

        machine.ApplyCommand(new KvCommand { Compact = new CompactionRequest { Revision = 4 } });

        Assert.Equal([4L, 5, 6], machine.Store.ReadEvents(4, 10).Select(e => e.Revision));
        Assert.Equal(ErrorCode.Compacted, Assert.Throws<MvccException>(() => machine.Store.ReadEvents(3, 10)).Code);
        // The history left is what reads at revision 4 and later need: two versions per key at most.
        Assert.Equal(4, KvCommands.Dump(machine.Store).Count(line => line.StartsWith("6B", StringComparison.Ordinal)));
    }

    private static ByteString Bytes(string s) => ByteString.CopyFromUtf8(s);
}
