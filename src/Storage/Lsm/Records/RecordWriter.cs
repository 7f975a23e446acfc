using KvStore.Storage.IO;
namespace KvStore.Storage.Lsm.Records;

/// <summary>
/// Appends framed records (<see cref="RecordFormat"/>) to a WAL or manifest file. Records are
/// gathered in memory and written out when 64 KiB have gathered, when the caller asks for it,
/// or on <see cref="Sync"/>, as LevelDB's log writer does: an unsynced write was never promised
/// durable, and one write call per group of records is much cheaper than one per record.
/// </summary>
/// <remarks>
/// If writing out fails (for example <see cref="OutOfSpaceException"/>), the file is cut back to
/// the end of what was written before and the failed group is dropped from memory, while
/// records gathered earlier stay queued in order; so a file never holds a partial record with
/// more after it. If even the cut fails, the writer is <see cref="Broken"/> and its owner must
/// switch to a new file.
/// </remarks>
internal sealed class RecordWriter : IDisposable
{
    private const int WriteOutThreshold = 64 * 1024;

    private readonly IStorageFile _file;
    private byte[] _buffer = new byte[4096];
    private int _buffered;
    private long _written;

    public RecordWriter(IStorageFile file)
    {
        _file = file;
        _written = file.Length;
    }

    public string Path => _file.Path;

    /// <summary>End of the last whole record appended (written out or still gathered).</summary>
    public long Length => _written + _buffered;

    /// <summary>True once a failed write could not be undone; nothing more may be appended.</summary>
    public bool Broken { get; private set; }

    public void Append(ReadOnlySpan<byte> payload) => Append([payload.ToArray()], writeOut: true);

    public void Append(IReadOnlyList<byte[]> payloads, bool writeOut = false)
    {
        ThrowIfBroken();
        int total = 0;
        foreach (byte[] p in payloads)
        {
            total += RecordFormat.HeaderSize + p.Length;
        }

        if (_buffer.Length - _buffered < total)
        {
            Array.Resize(ref _buffer, Math.Max(_buffered + total, _buffer.Length * 2));
        }

        int before = _buffered;
        foreach (byte[] p in payloads)
        {
            RecordFormat.WriteHeader(_buffer.AsSpan(_buffered, RecordFormat.HeaderSize), p);
            p.CopyTo(_buffer.AsSpan(_buffered + RecordFormat.HeaderSize));
            _buffered += RecordFormat.HeaderSize + p.Length;
        }

        if (writeOut || _buffered >= WriteOutThreshold)
        {
            try
            {
                WriteOut();
            }
            catch (IOException)
            {
                _buffered = before;
                throw;
            }
        }
    }

    /// <summary>Writes out gathered records and makes everything appended durable.</summary>
    public void Sync()
    {
        ThrowIfBroken();
        WriteOut();
        _file.Sync();
    }

    /// <summary>Drops records after <paramref name="length"/> (a group whose sync failed); marks the writer broken if that fails.</summary>
    public void TruncateTo(long length)
    {
        if (length >= _written)
        {
            _buffered = (int)Math.Min(_buffered, length - _written);
            return;
        }

        _buffered = 0;
        _written = length;
        Rollback();
    }

    public void Dispose() => _file.Dispose();

    private void WriteOut()
    {
        if (_buffered == 0)
        {
            return;
        }

        try
        {
            _file.Write(_written, _buffer.AsSpan(0, _buffered));
        }
        catch (IOException)
        {
            Rollback();
            throw;
        }

        _written += _buffered;
        _buffered = 0;
        if (_buffer.Length > 1 << 20)
        {
            _buffer = new byte[4096];
        }
    }

    private void ThrowIfBroken()
    {
        if (Broken)
        {
            throw new StorageException($"{_file.Path} is unusable after an earlier failed write");
        }
    }

    private void Rollback()
    {
        try
        {
            _file.SetLength(_written);
        }
        catch (IOException)
        {
            Broken = true;
        }
    }
}
