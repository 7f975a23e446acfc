using KvStore.Storage.IO;
namespace KvStore.Storage.Lsm.Records;

/// <summary>
/// Reads the records of a WAL or manifest file (<see cref="RecordFormat"/>), telling a torn tail
/// (cut, reported by <see cref="TornTailOffset"/>) from corruption of durable records (thrown).
/// </summary>
internal sealed class RecordReader
{
    private readonly string _name;
    private readonly byte[] _data;

    private RecordReader(string name, byte[] data)
    {
        _name = name;
        _data = data;
    }

    /// <summary>Offset where a torn tail began, or null if the file ended on a record boundary.</summary>
    public long? TornTailOffset { get; private set; }

    public static RecordReader Open(IFileSystem fileSystem, string path)
    {
        using IStorageFile file = fileSystem.Open(path, OpenMode.Read);
        long length = file.Length;
        if (length > int.MaxValue)
        {
            throw new StorageCorruptionException(path, int.MaxValue, "record file larger than 2 GiB");
        }

        var data = new byte[length];
        int read = file.Read(0, data);
        return new RecordReader(path, read == data.Length ? data : data[..read]);
    }

    /// <summary>Each whole record's payload, in order, with the offset of its header.</summary>
    public IEnumerable<(long Offset, byte[] Payload)> ReadAll()
    {
        int position = 0;
        while (position < _data.Length)
        {
            if (TryReadRecordAt(position, out int length))
            {
                yield return (position, _data.AsSpan(position + RecordFormat.HeaderSize, length).ToArray());
                position += RecordFormat.HeaderSize + length;
                continue;
            }

            // A torn write leaves nothing intact after it; anything intact later means the damage
            // hit data that was already durable.
            for (int later = position + 1; later + RecordFormat.HeaderSize <= _data.Length; later++)
            {
                if (TryReadRecordAt(later, out _))
                {
                    throw new StorageCorruptionException(_name, position, "record failed its checksum or length check");
                }
            }

            TornTailOffset = position;
            yield break;
        }
    }

    private bool TryReadRecordAt(int position, out int length)
    {
        length = 0;
        if (_data.Length - position < RecordFormat.HeaderSize)
        {
            return false;
        }

        if (!RecordFormat.TryReadHeader(_data.AsSpan(position, RecordFormat.HeaderSize), out length, out uint crc))
        {
            return false;
        }

        if (length > _data.Length - position - RecordFormat.HeaderSize)
        {
            return false;
        }

        return Crc32C.Compute(_data.AsSpan(position + RecordFormat.HeaderSize, length)) == crc;
    }
}
