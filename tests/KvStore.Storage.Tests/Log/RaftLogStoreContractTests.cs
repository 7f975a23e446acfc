using System.Text;
using KvStore.Storage.Log;

namespace KvStore.Storage.Tests.Log;

/// <summary>The <see cref="IRaftLogStore"/> contract, run against every implementation.</summary>
public abstract class RaftLogStoreContractTests : IDisposable
{
    private IRaftLogStore? _store;

    /// <summary>Opens the store under test (again, after <see cref="Reopen"/> closed it).</summary>
    protected abstract IRaftLogStore OpenStore();

    protected IRaftLogStore Store => _store ??= OpenStore();

    public virtual void Dispose()
    {
        _store?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Closes and reopens the store (after a Sync, so nothing may be lost).</summary>
    protected IRaftLogStore Reopen()
    {
        _store?.Dispose();
        _store = OpenStore();
        return _store;
    }

    protected static LogEntry Entry(long index, long term, string data = "", byte type = 0) =>
        new(index, term, type, Encoding.UTF8.GetBytes(data.Length > 0 ? data : $"entry-{index}-{term}"));

    protected static LogEntry[] Entries(long from, long to, long term) =>
        [.. Enumerable.Range(0, (int)(to - from + 1)).Select(i => Entry(from + i, term))];

    protected static string Text(LogEntry entry) => Encoding.UTF8.GetString(entry.Data.Span);

    private static void AssertEntries(IReadOnlyList<LogEntry> actual, params LogEntry[] expected)
    {
        Assert.Equal(expected.Length, actual.Count);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Index, actual[i].Index);
            Assert.Equal(expected[i].Term, actual[i].Term);
            Assert.Equal(expected[i].Type, actual[i].Type);
            Assert.Equal(expected[i].Data.ToArray(), actual[i].Data.ToArray());
        }
    }

    [Fact]
    public void An_empty_group_has_an_empty_log()
    {
        Assert.Empty(Store.Groups);
        Assert.Equal(1, Store.FirstIndex(7));
        Assert.Equal(0, Store.LastIndex(7));
        Assert.Equal(0, Store.GetTerm(7, 0));
        Assert.Equal(default, Store.GetHardState(7));
        Assert.Empty(Store.GetEntries(7, 1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Store.GetEntries(7, 1, 2));
    }

    [Fact]
    public void Appended_entries_read_back_with_terms_and_bounds()
    {
        LogEntry[] entries = [Entry(1, 1, "a", type: 1), Entry(2, 1, "bb"), Entry(3, 2, "ccc", type: 2)];
        Store.Append(1, entries);

        Assert.Equal([1UL], Store.Groups);
        Assert.Equal(1, Store.FirstIndex(1));
        Assert.Equal(3, Store.LastIndex(1));
        Assert.Equal(2, Store.GetTerm(1, 3));
        Assert.Equal(1, Store.GetTerm(1, 1));
        Assert.Equal(0, Store.GetTerm(1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Store.GetTerm(1, 4));
        AssertEntries(Store.GetEntries(1, 1, 4), entries);
        AssertEntries(Store.GetEntries(1, 2, 3), entries[1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => Store.GetEntries(1, 2, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Store.GetEntries(1, 0, 2));
    }

    [Fact]
    public void Appends_must_be_contiguous_and_consecutive()
    {
        Store.Append(1, Entries(1, 3, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Store.Append(1, [Entry(5, 1)]));
        Assert.Throws<ArgumentException>(() => Store.Append(1, [Entry(4, 1), Entry(6, 1)]));
        Store.Append(1, []);
        Assert.Equal(3, Store.LastIndex(1));
    }

    [Fact]
    public void A_conflicting_append_replaces_the_suffix()
    {
        Store.Append(1, Entries(1, 5, 1));
        Store.Append(1, [Entry(3, 2, "new3"), Entry(4, 2, "new4")]);

        Assert.Equal(4, Store.LastIndex(1));
        Assert.Equal(2, Store.GetTerm(1, 3));
        IReadOnlyList<LogEntry> read = Store.GetEntries(1, 1, 5);
        Assert.Equal(["entry-1-1", "entry-2-1", "new3", "new4"], read.Select(Text));
    }

    [Fact]
    public void TruncateSuffix_removes_the_tail()
    {
        Store.Append(1, Entries(1, 5, 1));
        Store.TruncateSuffix(1, 4);
        Assert.Equal(3, Store.LastIndex(1));
        Store.TruncateSuffix(1, 10);
        Assert.Equal(3, Store.LastIndex(1));
        Store.Append(1, [Entry(4, 3, "after")]);
        Assert.Equal("after", Text(Store.GetEntries(1, 4, 5)[0]));
    }

    [Fact]
    public void CompactPrefix_drops_entries_and_keeps_the_compacted_term()
    {
        Store.Append(1, Entries(1, 10, 2));
        Store.CompactPrefix(1, 6, 2);

        Assert.Equal(7, Store.FirstIndex(1));
        Assert.Equal(10, Store.LastIndex(1));
        Assert.Equal(2, Store.GetTerm(1, 6));
        Assert.Throws<ArgumentOutOfRangeException>(() => Store.GetTerm(1, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Store.GetEntries(1, 6, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => Store.TruncateSuffix(1, 6));
        Assert.Throws<ArgumentOutOfRangeException>(() => Store.Append(1, [Entry(6, 3)]));

        // An older snapshot changes nothing.
        Store.CompactPrefix(1, 3, 1);
        Assert.Equal(7, Store.FirstIndex(1));
    }

    [Fact]
    public void CompactPrefix_past_the_end_leaves_an_empty_log_after_it()
    {
        Store.Append(1, Entries(1, 3, 1));
        Store.CompactPrefix(1, 100, 5);

        Assert.Equal(101, Store.FirstIndex(1));
        Assert.Equal(100, Store.LastIndex(1));
        Assert.Equal(5, Store.GetTerm(1, 100));
        Store.Append(1, [Entry(101, 5)]);
        Assert.Equal(101, Store.LastIndex(1));
    }

    [Fact]
    public void Compaction_survives_a_reopen()
    {
        Store.Append(1, Entries(1, 10, 2));
        Store.CompactPrefix(1, 6, 2);
        Store.CompactPrefix(2, 50, 4);
        Store.Sync();

        IRaftLogStore reopened = Reopen();

        Assert.Equal(7, reopened.FirstIndex(1));
        Assert.Equal(10, reopened.LastIndex(1));
        Assert.Equal(2, reopened.GetTerm(1, 6));
        Assert.Equal(["entry-7-2", "entry-8-2", "entry-9-2", "entry-10-2"], reopened.GetEntries(1, 7, 11).Select(Text));
        Assert.Equal(51, reopened.FirstIndex(2));
        Assert.Equal(4, reopened.GetTerm(2, 50));
    }

    [Fact]
    public void Hard_state_round_trips_through_a_reopen()
    {
        Store.SaveHardState(3, new LogHardState(5, 2, 17));
        Store.SaveHardState(3, new LogHardState(6, 0, 18));
        Store.SaveHardState(4, new LogHardState(1, ulong.MaxValue, 0));
        Assert.Equal(new LogHardState(6, 0, 18), Store.GetHardState(3));
        Store.Sync();

        IRaftLogStore reopened = Reopen();

        Assert.Equal(new LogHardState(6, 0, 18), reopened.GetHardState(3));
        Assert.Equal(new LogHardState(1, ulong.MaxValue, 0), reopened.GetHardState(4));
        Assert.Equal([3UL, 4UL], reopened.Groups.Order());
    }

    [Fact]
    public void Groups_are_independent_when_interleaved()
    {
        for (long i = 1; i <= 20; i++)
        {
            for (ulong g = 1; g <= 5; g++)
            {
                Store.Append(g, [Entry(i, (long)g, $"g{g}-{i}")]);
            }
        }

        Store.TruncateSuffix(2, 11);
        Store.CompactPrefix(3, 15, 3);
        Store.RemoveGroup(5);
        Store.Sync();

        for (int pass = 0; pass < 2; pass++)
        {
            IRaftLogStore store = pass == 0 ? Store : Reopen();
            Assert.Equal([1UL, 2UL, 3UL, 4UL], store.Groups.Order());
            Assert.Equal(20, store.LastIndex(1));
            Assert.Equal(10, store.LastIndex(2));
            Assert.Equal(16, store.FirstIndex(3));
            Assert.Equal(0, store.LastIndex(5));
            Assert.Equal("g4-13", Text(store.GetEntries(4, 13, 14)[0]));
            Assert.Equal("g3-16", Text(store.GetEntries(3, 16, 17)[0]));
            Assert.Equal(3, store.GetTerm(3, 20));
        }
    }

    [Fact]
    public void A_removed_group_can_start_again()
    {
        Store.Append(9, Entries(1, 3, 1));
        Store.SaveHardState(9, new LogHardState(1, 1, 1));
        Store.RemoveGroup(9);
        Assert.Empty(Store.Groups);
        Assert.Equal(default, Store.GetHardState(9));

        Store.Append(9, [Entry(1, 7, "reborn")]);
        Store.Sync();
        IRaftLogStore reopened = Reopen();
        Assert.Equal(1, reopened.LastIndex(9));
        Assert.Equal("reborn", Text(reopened.GetEntries(9, 1, 2)[0]));
    }

    [Fact]
    public void Reads_are_capped_by_size_but_return_at_least_one_entry()
    {
        Store.Append(1, [.. Enumerable.Range(1, 10).Select(i => Entry(i, 1, new string('x', 100)))]);

        Assert.Single(Store.GetEntries(1, 1, 11, maxBytes: 10));
        Assert.Equal(3, Store.GetEntries(1, 1, 11, maxBytes: 300).Count);
        Assert.Equal(3, Store.GetEntries(1, 1, 11, maxBytes: 399).Count);
        Assert.Equal(10, Store.GetEntries(1, 1, 11).Count);
        Assert.Equal(4, Store.GetEntries(1, 5, 11, maxBytes: 400)[^1].Index - 4);
    }

    [Fact]
    public void Reopen_recovers_everything_synced()
    {
        var expected = new Dictionary<ulong, List<string>>();
        for (int round = 0; round < 5; round++)
        {
            for (ulong g = 1; g <= 3; g++)
            {
                long next = Store.LastIndex(g) + 1;
                LogEntry[] batch = [.. Enumerable.Range(0, 4).Select(i => Entry(next + i, round + 1, $"g{g}-r{round}-{i}-{new string('p', round * 50)}"))];
                Store.Append(g, batch);
                expected.TryAdd(g, []);
                expected[g].AddRange(batch.Select(Text));
            }

            Store.SaveHardState(1, new LogHardState(round + 1, 1, round));
            Store.Sync();
        }

        IRaftLogStore reopened = Reopen();

        foreach (var (group, texts) in expected)
        {
            Assert.Equal(texts, reopened.GetEntries(group, 1, reopened.LastIndex(group) + 1).Select(Text));
        }

        Assert.Equal(new LogHardState(5, 1, 4), reopened.GetHardState(1));

        // And the reopened store keeps working.
        reopened.Append(1, [Entry(21, 9, "more")]);
        reopened.Sync();
        Assert.Equal("more", Text(Reopen().GetEntries(1, 21, 22)[0]));
    }

    [Fact]
    public void Sync_counts_one_fsync_per_sync_with_writes()
    {
        long before = Store.SyncCount;
        Store.Append(1, [Entry(1, 1)]);
        Store.Append(2, [Entry(1, 1)]);
        Store.Sync();
        Store.Sync();
        Assert.Equal(before + 1, Store.SyncCount);
    }

    [Fact]
    public void Large_entries_round_trip()
    {
        var data = new byte[300_000];
        new Random(5).NextBytes(data);
        Store.Append(1, [new LogEntry(1, 1, 3, data), new LogEntry(2, 1, 4, Array.Empty<byte>())]);
        Store.Sync();
        IReadOnlyList<LogEntry> read = Reopen().GetEntries(1, 1, 3);
        Assert.Equal(data, read[0].Data.ToArray());
        Assert.Equal(0, read[1].Data.Length);
        Assert.Equal(4, read[1].Type);
    }

    [Fact]
    public async Task Readers_running_beside_the_writer_see_only_whole_correct_entries()
    {
        static byte[] Payload(long index) => Encoding.UTF8.GetBytes($"payload of {index} {new string('p', (int)(index % 200))}");

        IRaftLogStore store = Store;
        using var done = new CancellationTokenSource();
        long checkedEntries = 0;
        Task[] readers = [.. Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (!done.IsCancellationRequested)
            {
                long first = store.FirstIndex(1);
                long last = store.LastIndex(1);
                if (last < first)
                {
                    continue;
                }

                try
                {
                    foreach (LogEntry e in store.GetEntries(1, first, last + 1, maxBytes: 64 << 10))
                    {
                        Assert.Equal(Payload(e.Index), e.Data.ToArray());
                        Interlocked.Increment(ref checkedEntries);
                    }
                }
                catch (ArgumentOutOfRangeException)
                {
                    // Compacted between FirstIndex and GetEntries: the reader retries, as Raft would.
                }
            }
        }))];

        for (long i = 1; i <= 1500; i++)
        {
            store.Append(1, [new LogEntry(i, 1, 0, Payload(i))]);
            if (i % 50 == 0)
            {
                store.Sync();
            }

            if (i % 200 == 0)
            {
                store.CompactPrefix(1, i - 100, 1);
            }

            // Make sure the readers really run beside the writer, not after it.
            for (int wait = 0; i == 100 && wait < 10_000 && Interlocked.Read(ref checkedEntries) == 0; wait++)
            {
                await Task.Delay(1);
            }
        }

        store.Sync();
        done.Cancel();
        await Task.WhenAll(readers);
        Assert.True(Interlocked.Read(ref checkedEntries) > 0);
        Assert.Equal(1301, store.FirstIndex(1));
    }
}
