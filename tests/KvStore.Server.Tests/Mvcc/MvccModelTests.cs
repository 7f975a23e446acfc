using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using KvStore.Server.Mvcc;
using KvStore.Server.Protos;
using KvStore.Storage.IO;

namespace KvStore.Server.Tests.Mvcc;

/// <summary>
/// Random Put / DeleteRange / Txn / Range-at-revision / Compact sequences applied through the
/// state machine and checked, response by response, against <see cref="ReferenceMvcc"/>: the same
/// revisions, versions, create and mod revisions, prev_kv, counts, more flags and error codes.
/// Small memtables make the LSM flush and compact underneath. KVSTORE_MODEL_SEEDS=N runs more seeds.
/// </summary>
public sealed class MvccModelTests
{
    [Fact]
    public void RandomCommandsAnswerLikeTheReferenceModel() => ModelSeeds.Run(16, seed => RunSeed(seed, steps: 300));

    internal static void RunSeed(int seed, int steps)
    {
        var random = new Random(seed);
        var fs = new FaultInjectingFileSystem();
        using KvStateMachine machine = KvStateMachine.Open("/db", MvccStore.LsmOptionsFor(fs) with { MemtableSizeBytes = 4 << 10 });
        MvccStore store = machine.Store;
        KvCommands.GeneratorLeases().ForEach(grant => machine.ApplyCommand(grant));
        var model = new ReferenceMvcc();
        var generator = new KvRequestGenerator(random);
        for (int step = 0; step < steps; step++)
        {
            int dice = random.Next(100);
            IMessage request;
            IMessage expected;
            IMessage actual;
            if (dice < 28)
            {
                PutRequest put = generator.Put();
                (request, expected, actual) = (put, model.Put(put), (IMessage)machine.ApplyCommand(new KvCommand { Put = put }));
            }
            else if (dice < 40)
            {
                DeleteRangeRequest delete = generator.Delete();
                (request, expected, actual) = (delete, model.DeleteRange(delete), (IMessage)machine.ApplyCommand(new KvCommand { DeleteRange = delete }));
            }
            else if (dice < 65)
            {
                TxnRequest txn = generator.Txn(model.Compacted, model.Revision);
                (request, expected, actual) = (txn, model.Txn(txn), (IMessage)machine.ApplyCommand(new KvCommand { Txn = txn }));
            }
            else if (dice < 93)
            {
                RangeRequest range = generator.Range(model.Compacted, model.Revision);
                (request, expected, actual) = (range, model.Range(range), RangeOrError(store, range));
            }
            else if (dice < 97)
            {
                CompactionRequest compact = generator.Compact(model.Compacted, model.Revision);
                (request, expected, actual) = (compact, model.Compact(compact), (IMessage)machine.ApplyCommand(new KvCommand { Compact = compact }));
            }
            else
            {
                store.Database.Flush();
                continue;
            }

            AssertSame(expected, actual, $"step {step}: {request.GetType().Name} {request}");
            if (step % 50 == 49)
            {
                AssertEveryRevisionMatches(store, model);
            }
        }

        AssertEveryRevisionMatches(store, model);
    }

    /// <summary>Reads every key at every revision from the compacted one to the current one; below it, COMPACTED.</summary>
    internal static void AssertEveryRevisionMatches(MvccStore store, ReferenceMvcc model)
    {
        Assert.Equal(model.Revision, store.CurrentRevision);
        Assert.Equal(model.Compacted, store.CompactedRevision);
        Assert.Equal(model.Visible(model.Revision).Count, store.State.KeyCount);
        for (long rev = Math.Max(1, model.Compacted - 1); rev <= model.Revision; rev++)
        {
            var all = new RangeRequest { Key = ByteString.CopyFrom(0), RangeEnd = ByteString.CopyFrom(0), Revision = rev };
            AssertSame(model.Range(all), RangeOrError(store, all), $"full range at revision {rev}");
        }

        // The event index holds exactly the history a watch may still replay.
        long from = Math.Max(1, model.Compacted);
        Assert.Equal(
            model.Events(from, model.Revision),
            store.ReadEvents(from, model.Revision).Select(e => $"{e.Revision}/{e.Sub} {e.Type} {e.Kv}").ToList());
        if (model.Compacted > 1)
        {
            Assert.Equal(ErrorCode.Compacted, Assert.Throws<MvccException>(() => store.ReadEvents(model.Compacted - 1, model.Revision)).Code);
        }
    }

    internal static IMessage RangeOrError(MvccStore store, RangeRequest range)
    {
        try
        {
            return store.Range(range);
        }
        catch (MvccException e)
        {
            return e.ToError();
        }
    }

    /// <summary>Errors are compared by code (messages are for people); everything else field by field.</summary>
    internal static void AssertSame(IMessage expected, IMessage actual, string what)
    {
        if (actual is Error error)
        {
            actual = ReferenceMvcc.Error(error.Code);
        }

        if (!expected.Equals(actual))
        {
            throw new Xunit.Sdk.XunitException($"{what}\n  expected {expected}\n  actual   {actual}");
        }
    }
}
