using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using KvStore.Server.Mvcc;
using KvStore.Server.Protos;
using KvStore.Storage.IO;

namespace KvStore.Server.Tests.Mvcc;

/// <summary>
/// Reads on other threads while commands are applied (what the node does for serializable and
/// ReadIndex reads): every answer is exactly the state at some revision — never a mix of two
/// commands, never history a concurrent compaction removed.
/// </summary>
public sealed class ConcurrentReadTests
{
    [Fact]
    public async Task ReadsDuringApplyAlwaysSeeOneWholeRevision()
    {
        var random = new Random(21);
        var generator = new KvRequestGenerator(random);
        var model = new ReferenceMvcc();
        var commands = new List<KvCommand>();
        var states = new Dictionary<long, List<KeyValue>> { [0] = [] };
        for (int i = 0; i < 400; i++)
        {
            var command = new KvCommand();
            int dice = random.Next(100);
            if (dice < 50)
            {
                command.Put = generator.Put();
                model.Put(command.Put);
            }
            else if (dice < 70)
            {
                command.DeleteRange = generator.Delete();
                model.DeleteRange(command.DeleteRange);
            }
            else if (dice < 95)
            {
                command.Txn = generator.Txn(model.Compacted, model.Revision);
                model.Txn(command.Txn);
            }
            else
            {
                command.Compact = new CompactionRequest { Revision = Math.Max(1, model.Revision - 5) };
                model.Compact(command.Compact);
            }

            commands.Add(command);
            states[model.Revision] = model.Visible(model.Revision);
        }

        commands.InsertRange(0, KvCommands.GeneratorLeases());
        using KvStateMachine machine = KvStateMachine.Open("/db", MvccStore.LsmOptionsFor(new FaultInjectingFileSystem()) with { MemtableSizeBytes = 4 << 10 });
        using var done = new CancellationTokenSource();
        var all = new RangeRequest { Key = ByteString.CopyFrom(0), RangeEnd = ByteString.CopyFrom(0) };
        int checkedReads = 0;
        Task[] readers = Enumerable.Range(0, 2).Select(r => Task.Run(() =>
        {
            var readerRandom = new Random(r);
            while (!done.IsCancellationRequested)
            {
                RangeResponse latest = machine.Store.Range(all);
                Assert.Equal(states[latest.Header.Revision], latest.Kvs);
                long past = readerRandom.NextInt64(0, latest.Header.Revision + 1);
                try
                {
                    RangeResponse old = machine.Store.Range(new RangeRequest { Key = all.Key, RangeEnd = all.RangeEnd, Revision = past });
                    Assert.Equal(states[past == 0 ? old.Header.Revision : past], old.Kvs);
                }
                catch (MvccException e) when (e.Code == ErrorCode.Compacted)
                {
                    // A compaction passed that revision: refusing is right, returning thinned history is not.
                }

                Interlocked.Increment(ref checkedReads);
            }
        })).ToArray();

        for (int i = 0; i < commands.Count; i++)
        {
            if (i % 50 == 0)
            {
                // Let the readers overlap every stretch of the log, however the scheduler treats them.
                int seen = Volatile.Read(ref checkedReads);
                SpinWait.SpinUntil(() => Volatile.Read(ref checkedReads) > seen + 1 || readers.Any(t => t.IsFaulted), TimeSpan.FromSeconds(10));
            }

            machine.ApplyCommand(commands[i]);
        }

        done.Cancel();
        await Task.WhenAll(readers);
        Assert.Equal(model.Revision, machine.Store.CurrentRevision);
        Assert.True(checkedReads >= 16, $"only {checkedReads} reads overlapped the writes");
    }
}
