using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using KvStore.Raft.Core;
using KvStore.Server.Mvcc;
using KvStore.Server.Protos;
using KvStore.Server.Tests.Mvcc;
using KvStore.Server.Watch;
using KvStore.Storage.IO;

namespace KvStore.Server.Tests.Watch;

/// <summary>The watch hub against a real state machine: what a watcher receives as commands are applied.</summary>
public sealed class WatchHubTests : IAsyncLifetime
{
    private readonly KvStateMachine _machine = KvStateMachine.Open("/watch", new FaultInjectingFileSystem());
    private WatchHub _hub = null!;

    public Task InitializeAsync()
    {
        _hub = NewHub(new WatchHubOptions());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        _machine.Dispose();
    }

    [Fact]
    public async Task EventsArriveInRevisionOrderWithEachRevisionWholeInOneFrame()
    {
        var sink = new MemoryWatchSink();
        WatchCreateResponse created = _hub.Create(sink, Prefix("a/"));
        Assert.False(created.Canceled);

        Put("a/1", "x");
        Put("b/1", "not watched");
        Txn(("a/2", "y"), ("a/3", "z"), ("b/2", "not watched"));
        DeletePrefix("a/");

        List<WatchEvents> frames = await sink.ReadUntilAsync(f => f.Events.Any(e => e.Type == Event.Types.EventType.Delete));
        Assert.Equal(["1:PUT a/1", "3:PUT a/2,PUT a/3", "4:DELETE a/1,DELETE a/2,DELETE a/3"], frames.Select(Describe));
        Assert.All(frames, f => Assert.Equal(created.WatchId, f.WatchId));
    }

    [Fact]
    public async Task FiltersDropEventTypesAndPrevKvCarriesTheOldValue()
    {
        var noPuts = new MemoryWatchSink();
        var request = Key("k");
        request.Filters.Add(WatchCreateRequest.Types.FilterType.Noput);
        request.PrevKv = true;
        _hub.Create(noPuts, request);
        var noDeletes = new MemoryWatchSink();
        var second = Key("k");
        second.Filters.Add(WatchCreateRequest.Types.FilterType.Nodelete);
        _hub.Create(noDeletes, second);

        Put("k", "v1");
        Put("k", "v2");
        DeletePrefix("k");
        Put("k", "v3");

        WatchEvents deleted = await noPuts.ReadAsync();
        Assert.Equal("3:DELETE k", Describe(deleted));
        Assert.Equal("v2", deleted.Events[0].PrevKv.Value.ToStringUtf8());
        Assert.Equal(2, deleted.Events[0].PrevKv.ModRevision);

        List<WatchEvents> puts = await noDeletes.ReadUntilAsync(f => f.Header.Revision == 4);
        Assert.Equal(["1:PUT k", "2:PUT k", "4:PUT k"], puts.Select(Describe));
        Assert.Null(puts[1].Events[0].PrevKv);
        Assert.Equal("v3", puts[2].Events[0].Kv.Value.ToStringUtf8());
    }

    [Fact]
    public async Task AWatchFromAPastRevisionReplaysHistoryThenContinuesLiveWithoutGapOrRepeat()
    {
        for (int i = 1; i <= 40; i++)
        {
            Put($"h/{i % 3}", $"v{i}");
        }

        var sink = new MemoryWatchSink();
        var request = Prefix("h/");
        request.StartRevision = 7;
        _hub.Create(sink, request);
        for (int i = 41; i <= 80; i++)
        {
            Put($"h/{i % 3}", $"v{i}");
        }

        List<WatchEvents> frames = await sink.ReadUntilAsync(f => f.Header.Revision == 80);
        Assert.Equal(Enumerable.Range(7, 74).Select(r => (long)r), frames.Select(f => f.Events.Single().Kv.ModRevision));
        Assert.Equal("v80", frames[^1].Events[0].Kv.Value.ToStringUtf8());
    }

    [Fact]
    public async Task AStartBelowTheCompactedRevisionIsRefusedWithTheCompactRevision()
    {
        for (int i = 0; i < 10; i++)
        {
            Put("c", $"v{i}");
        }

        Compact(6);
        var sink = new MemoryWatchSink();
        var request = Key("c");
        request.StartRevision = 3;

        WatchCreateResponse refused = _hub.Create(sink, request);

        Assert.True(refused.Canceled);
        Assert.Equal(6, refused.CompactRevision);
        Assert.Equal(0, _hub.WatcherCount);

        // At the compacted revision itself history is still complete.
        request.StartRevision = 6;
        Assert.False(_hub.Create(sink, request).Canceled);
        List<WatchEvents> frames = await sink.ReadUntilAsync(f => f.Header.Revision == 10);
        Assert.Equal([6L, 7, 8, 9, 10], frames.Select(f => f.Header.Revision));
    }

    [Fact]
    public async Task AWatcherCompactedWhileCatchingUpIsCanceledWithTheCompactRevision()
    {
        await _hub.DisposeAsync();
        _hub = NewHub(new WatchHubOptions { MaxRevisionsPerRead = 4 });
        for (int i = 0; i < 30; i++)
        {
            Put("s", $"v{i}");
        }

        // A client that reads nothing: its queue holds 2 frames, so the catch-up stops early on.
        var sink = new MemoryWatchSink(capacity: 2);
        var request = Key("s");
        request.StartRevision = 1;
        _hub.Create(sink, request);
        await WaitUntilAsync(() => sink.Count == 2);
        Compact(20);

        List<WatchEvents> frames = await sink.ReadUntilAsync(f => f.Canceled);
        WatchEvents canceled = frames[^1];
        Assert.Equal(20, canceled.CompactRevision);
        List<long> delivered = frames.SkipLast(1).Select(f => f.Header.Revision).ToList();
        Assert.Equal(Enumerable.Range(1, delivered.Count).Select(r => (long)r), delivered);
        Assert.True(delivered.Count < 20, "events below the compaction were still delivered after it");
        Assert.Equal(0, _hub.WatcherCount);
    }

    [Fact]
    public async Task ASlowWatcherNeverBlocksTheApplyLoopAndLaterGetsEveryEventOnceInOrder()
    {
        await _hub.DisposeAsync();
        _hub = NewHub(new WatchHubOptions { MaxRevisionsPerRead = 16 });
        var slow = new MemoryWatchSink(capacity: 3);
        var fast = new MemoryWatchSink();
        _hub.Create(slow, Prefix("w/"));
        _hub.Create(fast, Prefix("w/"));
        Task<List<WatchEvents>> fastFrames = fast.ReadUntilAsync(f => f.Header.Revision == 300);

        // Nobody reads the slow sink while 300 revisions are applied: the apply loop must not wait for it.
        for (int i = 1; i <= 300; i++)
        {
            Put($"w/{i % 7}", $"v{i}");
        }

        Assert.Equal(Enumerable.Range(1, 300).Select(r => (long)r), (await fastFrames).Select(f => f.Header.Revision));
        Assert.Equal(3, slow.Count);

        List<WatchEvents> slowFrames = await slow.ReadUntilAsync(f => f.Header.Revision == 300);
        Assert.Equal(Enumerable.Range(1, 300).Select(r => (long)r), slowFrames.Select(f => f.Header.Revision));
        Assert.All(slowFrames, f => Assert.Equal($"v{f.Header.Revision}", f.Events.Single().Kv.Value.ToStringUtf8()));

        // Back in the live stream.
        Put("w/x", "live");
        Assert.Equal("301:PUT w/x", Describe(await slow.ReadAsync()));
    }

    [Fact]
    public async Task AProgressNotificationAtRevisionRComesAfterEveryEventUpToR()
    {
        await _hub.DisposeAsync();
        _hub = NewHub(new WatchHubOptions { MaxRevisionsPerRead = 8 });
        var sink = new MemoryWatchSink(capacity: 4);
        _hub.Create(sink, Prefix("p/"));
        for (int i = 1; i <= 50; i++)
        {
            Put($"p/{i % 2}", $"v{i}");
            if (i % 10 == 0)
            {
                _hub.RequestProgress(sink);
            }
        }

        await WaitUntilAsync(() => _hub.DispatchedRevision == 50);
        _hub.RequestProgress(sink);
        List<WatchEvents> frames = await sink.ReadUntilAsync(f => f.ProgressNotify && f.Header.Revision == 50);

        long lastEvent = 0;
        foreach (WatchEvents f in frames)
        {
            if (f.ProgressNotify)
            {
                Assert.Empty(f.Events);
                Assert.True(f.Header.Revision >= lastEvent, $"progress at {f.Header.Revision} after an event of revision {lastEvent}");
                Assert.True(f.Header.Revision <= 50, "progress beyond the applied revision");
                Assert.Equal(f.Header.Revision, lastEvent);
            }
            else
            {
                Assert.Equal(lastEvent + 1, f.Header.Revision);
                lastEvent = f.Header.Revision;
            }
        }

        Assert.Equal(50, lastEvent);
    }

    [Fact]
    public async Task AnIdleProgressNotifyWatchGetsPeriodicNotificationsAtTheAppliedRevision()
    {
        await _hub.DisposeAsync();
        _hub = NewHub(new WatchHubOptions { ProgressInterval = TimeSpan.FromMilliseconds(20) });
        Put("other", "1");
        Put("other", "2");
        var sink = new MemoryWatchSink();
        var request = Key("quiet");
        request.ProgressNotify = true;
        _hub.Create(sink, request);

        WatchEvents progress = await sink.ReadAsync();

        Assert.True(progress.ProgressNotify);
        Assert.Equal(2, progress.Header.Revision);
    }

    [Fact]
    public async Task AWatchResumedAheadOfThisNodeGetsNoBookmarkBelowItsStartRevision()
    {
        // The SDK resumes a stream on another member at last-delivered + 1; a member still replaying
        // its log is behind that. A bookmark at its own revision would be below revisions the client
        // already has (found by the Jepsen watch checker after a power cut).
        await _hub.DisposeAsync();
        _hub = NewHub(new WatchHubOptions { ProgressInterval = TimeSpan.FromMilliseconds(20) });
        Put("other", "1");
        Put("other", "2");
        var sink = new MemoryWatchSink();
        var request = Key("quiet");
        request.ProgressNotify = true;
        request.StartRevision = 6;
        _hub.Create(sink, request);
        _hub.RequestProgress(sink);
        await Task.Delay(200); // several progress ticks while this node is at revision 2

        Put("other", "3");
        Put("other", "4");
        Put("other", "5");
        WatchEvents first = await sink.ReadAsync();

        Assert.True(first.ProgressNotify);
        Assert.True(first.Header.Revision >= 5, $"bookmark at revision {first.Header.Revision} for a watch that starts at revision 6");
    }

    [Fact]
    public async Task CancelAndConnectionCloseRemoveWatchers()
    {
        var sink = new MemoryWatchSink();
        WatchCreateResponse first = _hub.Create(sink, Key("x"));
        _hub.Create(sink, Key("y"));
        var other = new MemoryWatchSink();
        _hub.Create(other, Key("x"));
        Assert.Equal(3, _hub.WatcherCount);

        _hub.Cancel(sink, first.WatchId);
        Put("x", "1");
        Put("y", "2");
        Assert.Equal("1:PUT x", Describe(await other.ReadAsync()));
        Assert.Equal("2:PUT y", Describe(await sink.ReadAsync()));

        other.Close();
        sink.Close();
        Assert.Equal(0, _hub.WatcherCount);
        Assert.Throws<MvccException>(() => _hub.Cancel(sink, first.WatchId));
    }

    [Fact]
    public async Task AFollowerThatInstallsASnapshotDeliversTheRevisionsItJumpedOver()
    {
        using KvStateMachine leader = KvStateMachine.Open("/leader", new FaultInjectingFileSystem());
        for (int i = 1; i <= 30; i++)
        {
            leader.ApplyCommand(KvCommands.Put($"j/{i % 4}", $"v{i}"));
        }

        var sink = new MemoryWatchSink();
        var request = Prefix("j/");
        request.StartRevision = 1;
        _hub.Create(sink, request);

        _machine.Restore(new Snapshot(new SnapshotMetadata(leader.AppliedIndex, 1, new ConfState()), leader.TakeSnapshot()));

        List<WatchEvents> frames = await sink.ReadUntilAsync(f => f.Header.Revision == 30);
        Assert.Equal(Enumerable.Range(1, 30).Select(r => (long)r), frames.Select(f => f.Header.Revision));
        Assert.Equal("v30", frames[^1].Events.Single().Kv.Value.ToStringUtf8());
    }

    [Fact]
    public async Task ASnapshotThatSkipsPastACompactionCancelsTheWatchersStillOwedThoseRevisions()
    {
        using KvStateMachine leader = KvStateMachine.Open("/leader", new FaultInjectingFileSystem());
        for (int i = 1; i <= 30; i++)
        {
            leader.ApplyCommand(KvCommands.Put($"j/{i % 4}", $"v{i}"));
        }

        leader.ApplyCommand(new KvCommand { Compact = new CompactionRequest { Revision = 20 } });
        var owed = new MemoryWatchSink();
        _hub.Create(owed, Prefix("j/"));

        // This member is at revision 0, so its watcher is owed revisions from 1; the snapshot has none below 20.
        _machine.Restore(new Snapshot(new SnapshotMetadata(leader.AppliedIndex, 1, new ConfState()), leader.TakeSnapshot()));

        WatchEvents canceled = await owed.ReadAsync();
        Assert.True(canceled.Canceled);
        Assert.Equal(20, canceled.CompactRevision);
        Assert.Empty(canceled.Events);

        // The hub goes on from the snapshot: a new watch gets what comes after it.
        var fresh = new MemoryWatchSink();
        _hub.Create(fresh, Prefix("j/"));
        Put("j/new", "after");
        Assert.Equal("31:PUT j/new", Describe(await fresh.ReadAsync()));
    }

    [Fact]
    public void ADuplicateWatchIdOrAnEmptyKeyIsRefused()
    {
        var sink = new MemoryWatchSink();
        var request = Key("d");
        request.WatchId = 7;
        Assert.Equal(7, _hub.Create(sink, request).WatchId);
        Assert.Equal(ErrorCode.InvalidArgument, Assert.Throws<MvccException>(() => _hub.Create(sink, request)).Code);
        Assert.Equal(ErrorCode.InvalidArgument, Assert.Throws<MvccException>(() => _hub.Create(sink, new WatchCreateRequest())).Code);
    }

    private WatchHub NewHub(WatchHubOptions options)
    {
        var hub = new WatchHub(_machine.Store, options);
        _machine.RevisionAdvanced = hub.NotifyApplied;
        return hub;
    }

    private static WatchCreateRequest Key(string key) => new() { Key = ByteString.CopyFromUtf8(key) };

    private static WatchCreateRequest Prefix(string prefix) => new() { Key = ByteString.CopyFromUtf8(prefix), RangeEnd = ByteString.CopyFromUtf8(PrefixEnd(prefix)) };

    private static string PrefixEnd(string prefix) => prefix[..^1] + (char)(prefix[^1] + 1);

    private static string Describe(WatchEvents f) =>
        $"{f.Header.Revision}:" + string.Join(",", f.Events.Select(e => $"{e.Type.ToString().ToUpperInvariant()} {e.Kv.Key.ToStringUtf8()}"));

    private void Put(string key, string value) => Assert.IsType<PutResponse>(_machine.ApplyCommand(KvCommands.Put(key, value)));

    private void DeletePrefix(string prefix) => Assert.IsType<DeleteRangeResponse>(_machine.ApplyCommand(new KvCommand
    {
        DeleteRange = new DeleteRangeRequest
        {
            Key = ByteString.CopyFromUtf8(prefix),
            RangeEnd = prefix.EndsWith('/') ? ByteString.CopyFromUtf8(PrefixEnd(prefix)) : ByteString.Empty,
        },
    }));

    private void Txn(params (string Key, string Value)[] puts)
    {
        var txn = new TxnRequest();
        txn.Success.AddRange(puts.Select(p => new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(p.Key), Value = ByteString.CopyFromUtf8(p.Value) } }));
        Assert.IsType<TxnResponse>(_machine.ApplyCommand(new KvCommand { Txn = txn }));
    }

    private void Compact(long revision) =>
        Assert.IsType<CompactionResponse>(_machine.ApplyCommand(new KvCommand { Compact = new CompactionRequest { Revision = revision } }));

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(5, timeout.Token);
        }
    }
}
