using System.Text;
using KvStore.Storage.Log;

namespace KvStore.Storage.Tests.Log;

/// <summary>
/// FasterLogStore does its own I/O, so its crash tests run on real files in a temporary directory:
/// closing without a commit stands for a crash, and bytes are damaged in FasterLog's segment files.
/// </summary>
public sealed class FasterLogStoreCrashTests : IDisposable
{
    private static readonly FasterLogStoreOptions Small = new() { PageSizeBits = 16, MemorySizeBits = 18, SegmentSizeBits = 18, CheckpointIntervalBytes = 16384 };

    private readonly string _directory = Directory.CreateTempSubdirectory("kvstore-fasterlog-crash-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private FasterLogStore Open() => FasterLogStore.Open(_directory, Small);

    private static LogEntry Entry(long index, string text) => new(index, 1, 0, Encoding.UTF8.GetBytes(text));

    [Fact]
    public void Reopen_after_dispose_without_commit_loses_nothing_committed()
    {
        for (int seed = 0; seed < 10; seed++)
        {
            var rng = new Random(seed);
            var model = new RaftLogModel();
            RaftLogModel synced = model.Clone();
            var pending = new List<RaftLogMutation>();
            using (FasterLogStore store = Open())
            {
                RaftLogModel start = RaftLogModel.ReadFrom(store);
                model = start;
                synced = model.Clone();
                for (int op = 0; op < 150; op++)
                {
                    if (rng.Next(10) == 0)
                    {
                        store.Sync();
                        synced = model.Clone();
                        pending.Clear();
                        continue;
                    }

                    RaftLogMutation mutation = RaftLogMutation.Random(rng, model, 4);
                    mutation.ApplyTo(store);
                    mutation.ApplyTo(model);
                    pending.Add(mutation);
                }
            }

            using FasterLogStore reopened = Open();
            RaftLogModel recovered = RaftLogModel.ReadFrom(reopened);
            RaftLogModel candidate = synced.Clone();
            bool matched = candidate.Difference(recovered) is null;
            foreach (RaftLogMutation mutation in pending)
            {
                mutation.ApplyTo(candidate);
                matched |= candidate.Difference(recovered) is null;
            }

            Assert.True(matched, $"seed {seed}: recovered state is no prefix of the mutations since the last commit: vs committed: {synced.Difference(recovered)}");
        }
    }

    [Fact]
    public void A_damaged_payload_byte_in_a_segment_file_is_corruption_naming_file_and_offset()
    {
        using (FasterLogStore store = Open())
        {
            store.Append(1, [Entry(1, "first-payload"), Entry(2, "second-payload-to-damage"), Entry(3, "third")]);
            store.Append(1, [Entry(4, "fourth")]);
            store.Sync();
        }

        string path = $"{_directory}/raftlog.log.0";
        byte[] data = File.ReadAllBytes(path);
        int at = data.AsSpan().IndexOf("second-payload-to-damage"u8);
        Assert.True(at > 0);
        data[at + 5] ^= 0x10;
        File.WriteAllBytes(path, data);

        var error = Assert.Throws<StorageCorruptionException>(Open);
        Assert.Equal(path, error.File);
        Assert.InRange(error.Offset, 0, at);
    }

    [Fact]
    public void A_torn_record_in_committed_space_is_detected_by_our_crc()
    {
        using (FasterLogStore store = Open())
        {
            store.Append(1, [Entry(1, "kept")]);
            store.Append(1, [Entry(2, new string('t', 3000))]);
            store.Sync();
        }

        // As if the device had written only the first sectors of the last page write.
        string path = $"{_directory}/raftlog.log.0";
        byte[] data = File.ReadAllBytes(path);
        int at = data.AsSpan().IndexOf("tttttttttt"u8);
        Array.Clear(data, at + 1024, 1500);
        File.WriteAllBytes(path, data);

        var error = Assert.Throws<StorageCorruptionException>(Open);
        Assert.Equal(path, error.File);
    }

    [Fact]
    public void Compaction_truncates_the_log_and_reopen_replays_from_a_checkpoint()
    {
        long initialBegin;
        using (FasterLogStore store = Open())
        {
            for (long i = 1; i <= 600; i++)
            {
                store.Append(1, [Entry(i, $"{i}-{new string('x', 1000)}")]);
                store.Append(2, [Entry(i, $"{i}")]);
            }

            store.SaveHardState(1, new LogHardState(2, 3, 600));
            store.Sync();
            initialBegin = store.BeginAddress;

            store.CompactPrefix(1, 590, 1);
            store.CompactPrefix(2, 600, 1);
            store.Sync();
            store.SaveHardState(2, new LogHardState(4, 0, 600));
            store.Sync();
        }

        // The truncation was persisted by the last commit: the reopened log starts at a later checkpoint.
        using FasterLogStore reopened = Open();
        Assert.True(reopened.BeginAddress > initialBegin + (500 * 1000), $"log begins at {reopened.BeginAddress}, first at {initialBegin}");
        Assert.Equal(591, reopened.FirstIndex(1));
        Assert.Equal(600, reopened.LastIndex(1));
        Assert.StartsWith("595-", Encoding.UTF8.GetString(reopened.GetEntries(1, 595, 596)[0].Data.Span));
        Assert.Equal(601, reopened.FirstIndex(2));
        Assert.Equal(new LogHardState(2, 3, 600), reopened.GetHardState(1));
        Assert.Equal(new LogHardState(4, 0, 600), reopened.GetHardState(2));
    }

    [Fact]
    public void A_torn_commit_slot_falls_back_to_the_previous_commit()
    {
        using (FasterLogStore store = Open())
        {
            store.Append(1, [Entry(1, "first")]);
            store.Sync();
            store.Append(1, [Entry(2, "second")]);
            store.Sync();
        }

        // The commit file holds two slots (crc, commit number, length, metadata); tear the newer one.
        string path = $"{_directory}/commit";
        byte[] data = File.ReadAllBytes(path);
        long first = BitConverter.ToInt64(data, 4);
        long second = BitConverter.ToInt64(data, 65536 + 4);
        int newer = first > second ? 0 : 65536;
        data[newer + 20] ^= 0xFF;
        File.WriteAllBytes(path, data);

        using FasterLogStore reopened = Open();
        Assert.Equal(1, reopened.LastIndex(1));
        Assert.Equal("first", Encoding.UTF8.GetString(reopened.GetEntries(1, 1, 2)[0].Data.Span));
        reopened.Append(1, [Entry(2, "second again")]);
        reopened.Sync();
    }
}
