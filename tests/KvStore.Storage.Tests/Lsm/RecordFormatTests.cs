using KvStore.Storage.IO;
using KvStore.Storage.Lsm;
using KvStore.Storage.Lsm.Records;
using KvStore.Storage.Lsm.Versions;

namespace KvStore.Storage.Tests.Lsm;

public sealed class RecordFormatTests
{
    private const string Path = "/r/file";

    private static FaultInjectingFileSystem WriteRecords(params int[] sizes)
    {
        var fs = new FaultInjectingFileSystem();
        fs.CreateDirectory("/r");
        using var writer = new RecordWriter(fs.Open(Path, OpenMode.CreateTruncate));
        for (int i = 0; i < sizes.Length; i++)
        {
            writer.Append(Enumerable.Repeat((byte)i, sizes[i]).ToArray());
        }

        writer.Sync();
        return fs;
    }

    [Fact]
    public void Records_read_back_in_order_with_their_offsets()
    {
        var fs = WriteRecords(10, 0, 70000, 3);
        var records = RecordReader.Open(fs, Path).ReadAll().ToList();
        Assert.Equal([10, 0, 70000, 3], records.Select(r => r.Payload.Length));
        Assert.Equal([0L, 22, 34, 70046], records.Select(r => r.Offset));
        Assert.All(records.Select((r, i) => (r, i)), x => Assert.All(x.r.Payload, b => Assert.Equal((byte)x.i, b)));
    }

    [Fact]
    public void A_record_cut_at_any_byte_is_a_torn_tail_not_corruption()
    {
        var fs = WriteRecords(10, 20, 30);
        byte[] bytes = fs.ReadAllBytes(Path);
        for (int cut = 54; cut < bytes.Length; cut++)
        {
            using (IStorageFile f = fs.Open(Path, OpenMode.ReadWrite))
            {
                f.SetLength(cut);
            }

            RecordReader reader = RecordReader.Open(fs, Path);
            var records = reader.ReadAll().ToList();
            Assert.Equal(2, records.Count);
            Assert.Equal(cut == 54 ? null : 54, reader.TornTailOffset);
            using (IStorageFile f = fs.Open(Path, OpenMode.ReadWrite))
            {
                f.Write(0, bytes);
            }
        }
    }

    [Fact]
    public void A_flipped_bit_followed_by_intact_records_is_corruption_at_the_damaged_record()
    {
        for (int offset = 22; offset < 54; offset++)
        {
            var fs = WriteRecords(10, 20, 30);
            fs.FlipBit(Path, offset, offset % 8);
            var e = Assert.Throws<StorageCorruptionException>(() => RecordReader.Open(fs, Path).ReadAll().ToList());
            Assert.Equal(Path, e.File);
            Assert.Equal(22, e.Offset);
        }
    }

    [Fact]
    public void Version_edits_round_trip_and_unknown_tags_are_corruption()
    {
        var edit = new VersionEdit { LogNumber = 7, NextFileNumber = 99, LastSequence = 123456789, AppliedIndex = 42 };
        edit.CompactPointers.Add((2, InternalKey.Encode("m"u8, 5, ValueKind.Value)));
        edit.DeletedFiles.Add((1, 12));
        edit.NewFiles.Add((3, new FileMetadata(13, 4096, InternalKey.Encode("a"u8, 1, ValueKind.Value), InternalKey.Encode("z"u8, 2, ValueKind.Deletion), 77)));

        VersionEdit back = VersionEdit.Decode(edit.Encode(), "m", 0);
        Assert.Equal((7UL, 99UL, 123456789UL, 42L), (back.LogNumber!.Value, back.NextFileNumber!.Value, back.LastSequence!.Value, back.AppliedIndex!.Value));
        Assert.Equal(edit.CompactPointers[0].Key, back.CompactPointers[0].Key);
        Assert.Equal(edit.DeletedFiles, back.DeletedFiles);
        Assert.Equal(edit.NewFiles[0].File.Largest, back.NewFiles[0].File.Largest);
        Assert.Equal((3, 13UL, 4096L, 77L), (back.NewFiles[0].Level, back.NewFiles[0].File.Number, back.NewFiles[0].File.Size, back.NewFiles[0].File.Entries));

        var e = Assert.Throws<StorageCorruptionException>(() => VersionEdit.Decode([99, 1], "MANIFEST-000001", 123));
        Assert.Equal(("MANIFEST-000001", 123L), (e.File, e.Offset));
    }
}
