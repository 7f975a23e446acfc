using System.Buffers;
using System.Buffers.Binary;

namespace KvStore.Storage.Lsm.Versions;

/// <summary>
/// A change to the set of live tables and to the database's counters; one manifest record.
/// </summary>
/// <remarks>
/// Encoding: a sequence of fields, each a varint tag followed by its value. Tags (do not
/// change: embedded in on-disk data):
/// <code>
///   2 log number         varint   WAL files below this number are no longer needed
///   3 next file number   varint
///   4 last sequence      varint
///   5 compact pointer    varint level | varint length | internal key
///   6 deleted file       varint level | varint file number
///   7 new file           varint level | varint number | varint size | varint entries
///                        | varint length | smallest internal key | varint length | largest internal key
///   8 applied index      fixed64 little-endian (Raft index covered by the tables)
/// </code>
/// Unknown tags are corruption: an older reader must not half-understand a newer manifest.
/// </remarks>
internal sealed class VersionEdit
{
    private const ulong TagLogNumber = 2;
    private const ulong TagNextFileNumber = 3;
    private const ulong TagLastSequence = 4;
    private const ulong TagCompactPointer = 5;
    private const ulong TagDeletedFile = 6;
    private const ulong TagNewFile = 7;
    private const ulong TagAppliedIndex = 8;

    public ulong? LogNumber { get; set; }

    public ulong? NextFileNumber { get; set; }

    public ulong? LastSequence { get; set; }

    public long? AppliedIndex { get; set; }

    public List<(int Level, byte[] Key)> CompactPointers { get; } = [];

    public List<(int Level, ulong Number)> DeletedFiles { get; } = [];

    public List<(int Level, FileMetadata File)> NewFiles { get; } = [];

    public byte[] Encode()
    {
        var w = new ArrayBufferWriter<byte>();
        if (LogNumber is ulong log)
        {
            Varint.Write(w, TagLogNumber);
            Varint.Write(w, log);
        }

        if (NextFileNumber is ulong next)
        {
            Varint.Write(w, TagNextFileNumber);
            Varint.Write(w, next);
        }

        if (LastSequence is ulong seq)
        {
            Varint.Write(w, TagLastSequence);
            Varint.Write(w, seq);
        }

        if (AppliedIndex is long applied)
        {
            Varint.Write(w, TagAppliedIndex);
            BinaryPrimitives.WriteInt64LittleEndian(w.GetSpan(8), applied);
            w.Advance(8);
        }

        foreach (var (level, key) in CompactPointers)
        {
            Varint.Write(w, TagCompactPointer);
            Varint.Write(w, (ulong)level);
            Varint.WriteBytes(w, key);
        }

        foreach (var (level, number) in DeletedFiles)
        {
            Varint.Write(w, TagDeletedFile);
            Varint.Write(w, (ulong)level);
            Varint.Write(w, number);
        }

        foreach (var (level, f) in NewFiles)
        {
            Varint.Write(w, TagNewFile);
            Varint.Write(w, (ulong)level);
            Varint.Write(w, f.Number);
            Varint.Write(w, (ulong)f.Size);
            Varint.Write(w, (ulong)f.Entries);
            Varint.WriteBytes(w, f.Smallest);
            Varint.WriteBytes(w, f.Largest);
        }

        return w.WrittenSpan.ToArray();
    }

    /// <summary>Decodes a record; throws <see cref="StorageCorruptionException"/> naming <paramref name="file"/> and <paramref name="offset"/>.</summary>
    public static VersionEdit Decode(ReadOnlySpan<byte> data, string file, long offset)
    {
        var edit = new VersionEdit();
        int p = 0;
        while (p < data.Length)
        {
            if (!Varint.TryRead(data, ref p, out ulong tag))
            {
                throw Bad("truncated tag");
            }

            switch (tag)
            {
                case TagLogNumber:
                    edit.LogNumber = ReadVarint(data, ref p);
                    break;
                case TagNextFileNumber:
                    edit.NextFileNumber = ReadVarint(data, ref p);
                    break;
                case TagLastSequence:
                    edit.LastSequence = ReadVarint(data, ref p);
                    break;
                case TagAppliedIndex:
                    if (data.Length - p < 8)
                    {
                        throw Bad("truncated applied index");
                    }

                    edit.AppliedIndex = BinaryPrimitives.ReadInt64LittleEndian(data[p..]);
                    p += 8;
                    break;
                case TagCompactPointer:
                    {
                        int level = ReadLevel(ref p, data);
                        edit.CompactPointers.Add((level, ReadBytes(ref p, data)));
                        break;
                    }

                case TagDeletedFile:
                    {
                        int level = ReadLevel(ref p, data);
                        edit.DeletedFiles.Add((level, ReadVarint(data, ref p)));
                        break;
                    }

                case TagNewFile:
                    {
                        int level = ReadLevel(ref p, data);
                        ulong number = ReadVarint(data, ref p);
                        ulong size = ReadVarint(data, ref p);
                        ulong entries = ReadVarint(data, ref p);
                        byte[] smallest = ReadBytes(ref p, data);
                        byte[] largest = ReadBytes(ref p, data);
                        if (!InternalKey.IsWellFormed(smallest) || !InternalKey.IsWellFormed(largest))
                        {
                            throw Bad("malformed file key range");
                        }

                        edit.NewFiles.Add((level, new FileMetadata(number, (long)size, smallest, largest, (long)entries)));
                        break;
                    }

                default:
                    throw Bad($"unknown field tag {tag}");
            }
        }

        return edit;

        ulong ReadVarint(ReadOnlySpan<byte> bytes, ref int position)
        {
            if (!Varint.TryRead(bytes, ref position, out ulong v))
            {
                throw Bad("truncated number");
            }

            return v;
        }

        StorageCorruptionException Bad(string what) => new(file, offset, $"bad version edit: {what}");

        int ReadLevel(ref int position, ReadOnlySpan<byte> bytes)
        {
            if (!Varint.TryRead(bytes, ref position, out ulong level) || level >= Version.NumLevels)
            {
                throw new StorageCorruptionException(file, offset, "bad version edit: bad level");
            }

            return (int)level;
        }

        byte[] ReadBytes(ref int position, ReadOnlySpan<byte> bytes)
        {
            if (!Varint.TryReadBytes(bytes, ref position, out ReadOnlySpan<byte> b))
            {
                throw new StorageCorruptionException(file, offset, "bad version edit: truncated key");
            }

            return b.ToArray();
        }
    }
}
