using System.Buffers.Binary;
using KvStore.Raft.Core;
using KvStore.Storage;
using KvStore.Storage.IO;

namespace KvStore.Raft.Host;

/// <summary>
/// Snapshots on disk, one file per group, replaced atomically (write a temporary file, fsync
/// it, rename over the old one, fsync the directory) so a crash leaves the old or the new
/// snapshot, never a mixture.
/// </summary>
/// <remarks>
/// File <c>group-{group:x16}.snap</c>, version 1. Do not change: embedded in on-disk data.
/// <code>
/// magic     u32 LE  0x4E53564B ("KVSN")
/// version   u8      1
/// crc       u32 LE  masked CRC32C of every byte after this field
/// index     i64 LE
/// term      i64 LE
/// voters, learners, votersOutgoing, learnersNext: count u32 LE, then id u64 LE each
/// autoLeave u8      0 | 1
/// dataLen   i64 LE
/// data      u8[dataLen]
/// </code>
/// </remarks>
public sealed class FileSnapshotStore : ISnapshotStore
{
    private const uint Magic = 0x4E53564B;
    private const byte FormatVersion = 1;
    private const int HeaderBytes = 9;

    private readonly IFileSystem _fs;
    private readonly string _directory;

    public FileSnapshotStore(IFileSystem fs, string directory)
    {
        _fs = fs;
        _directory = directory.TrimEnd('/');
        _fs.CreateDirectory(_directory);
    }

    public Snapshot? Load(ulong group)
    {
        string path = PathOf(group);
        if (!_fs.FileExists(path))
        {
            return null;
        }

        byte[] bytes;
        using (var file = _fs.Open(path, OpenMode.Read))
        {
            if (file.Length > int.MaxValue)
            {
                throw new StorageCorruptionException(path, 0, $"snapshot file of {file.Length} bytes is larger than supported");
            }

            bytes = new byte[file.Length];
            int read = file.Read(0, bytes);
            if (read != bytes.Length)
            {
                throw new StorageCorruptionException(path, read, "short read of snapshot file");
            }
        }

        return Parse(path, bytes);
    }

    public void Save(ulong group, Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        byte[] bytes = Serialize(snapshot);
        string path = PathOf(group);
        string temporary = path + ".tmp";
        using (var file = _fs.Open(temporary, OpenMode.CreateTruncate))
        {
            file.Write(0, bytes);
            file.Sync();
        }

        _fs.Rename(temporary, path);
        _fs.SyncDirectory(_directory);
    }

    public void Remove(ulong group)
    {
        _fs.DeleteFile(PathOf(group));
        _fs.SyncDirectory(_directory);
    }

    private string PathOf(ulong group) => $"{_directory}/group-{group:x16}.snap";

    private static byte[] Serialize(Snapshot snapshot)
    {
        var cs = snapshot.Metadata.ConfState ?? ConfState.Empty;
        int idBytes = 8 * (cs.Voters.Count + cs.Learners.Count + cs.VotersOutgoing.Count + cs.LearnersNext.Count);
        var bytes = new byte[HeaderBytes + 16 + 16 + idBytes + 1 + 8 + snapshot.Data.Length];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, Magic);
        span[4] = FormatVersion;
        int at = HeaderBytes;
        BinaryPrimitives.WriteInt64LittleEndian(span[at..], snapshot.Metadata.Index);
        BinaryPrimitives.WriteInt64LittleEndian(span[(at + 8)..], snapshot.Metadata.Term);
        at += 16;
        foreach (var list in new[] { cs.Voters, cs.Learners, cs.VotersOutgoing, cs.LearnersNext })
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span[at..], (uint)list.Count);
            at += 4;
            foreach (ulong id in list)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(span[at..], id);
                at += 8;
            }
        }

        span[at++] = cs.AutoLeave ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteInt64LittleEndian(span[at..], snapshot.Data.Length);
        at += 8;
        snapshot.Data.Span.CopyTo(span[at..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[5..], Crc32C.Mask(Crc32C.Compute(span[HeaderBytes..])));
        return bytes;
    }

    private static Snapshot Parse(string path, byte[] bytes)
    {
        var span = bytes.AsSpan();
        if (span.Length < HeaderBytes || BinaryPrimitives.ReadUInt32LittleEndian(span) != Magic)
        {
            throw new StorageCorruptionException(path, 0, "not a snapshot file (bad magic)");
        }

        if (span[4] != FormatVersion)
        {
            throw new StorageCorruptionException(path, 4, $"unsupported snapshot format version {span[4]}");
        }

        uint expected = Crc32C.Unmask(BinaryPrimitives.ReadUInt32LittleEndian(span[5..]));
        if (Crc32C.Compute(span[HeaderBytes..]) != expected)
        {
            throw new StorageCorruptionException(path, 5, "snapshot checksum mismatch");
        }

        int at = HeaderBytes;
        void Need(int n)
        {
            if (bytes.Length - at < n)
            {
                throw new StorageCorruptionException(path, at, "snapshot file ends early");
            }
        }

        Need(16);
        long index = BinaryPrimitives.ReadInt64LittleEndian(span[at..]);
        long term = BinaryPrimitives.ReadInt64LittleEndian(span[(at + 8)..]);
        at += 16;
        var lists = new ulong[4][];
        for (int l = 0; l < 4; l++)
        {
            Need(4);
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(span[at..]);
            at += 4;
            if (count > (uint)(span.Length - at) / 8)
            {
                throw new StorageCorruptionException(path, at - 4, $"id count {count} runs past the end of the file");
            }

            lists[l] = new ulong[count];
            for (int i = 0; i < count; i++)
            {
                lists[l][i] = BinaryPrimitives.ReadUInt64LittleEndian(span[at..]);
                at += 8;
            }
        }

        Need(9);
        bool autoLeave = span[at++] == 1;
        long dataLength = BinaryPrimitives.ReadInt64LittleEndian(span[at..]);
        at += 8;
        if (dataLength != span.Length - at)
        {
            throw new StorageCorruptionException(path, at - 8, $"data length {dataLength} does not match the {span.Length - at} bytes that follow");
        }

        var cs = new ConfState { Voters = lists[0], Learners = lists[1], VotersOutgoing = lists[2], LearnersNext = lists[3], AutoLeave = autoLeave };
        return new Snapshot(new SnapshotMetadata(index, term, cs), bytes.AsMemory(at));
    }
}
