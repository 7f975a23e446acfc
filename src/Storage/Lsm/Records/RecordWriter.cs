using KvStore.Storage.IO;
namespace KvStore.Storage.Lsm.Records;

/// <summary>
/// Appends framed records (<see cref="RecordFormat"/>) to a WAL or manifest file. Several records
/// go out in one write so a write group costs one write call and at most one sync.
/// </summary>
/// <remarks>
/// If a write fails (for example <see cref="OutOfSpaceException"/>), the file is cut back to the
/// end of the last whole record so later appends never follow a partial one; if even that fails
/// the writer is <see cref="Broken"/> and its owner must switch to a new file.
/// </remarks>
internal sealed class RecordWriter : IDisposable
{
    private readonly IStorageFile _file;
    private byte[] _buffer = new byte[4096];

    public RecordWriter(IStorageFile file)
    {
        _file = file;
        Length = file.Length;
    }

    public string Path => _file.Path;

    /// <summary>End of the last whole record written.</summary>
    public long Length { get; private set; }

    /// <summary>True once a failed write could not be undone; nothing more may be appended.</summary>
    public bool Broken { get; private set; }

    public void Append(ReadOnlySpan<byte> payload) => Append([payload.ToArray()]);

    public void Append(IReadOnlyList<byte[]> payloads)
    {
        if (Broken)
        {
            throw new StorageException($"{_file.Path} is unusable after an earlier failed write");
        }

        int total = 0;
        foreach (byte[] p in payloads)
        {
            total += RecordFormat.HeaderSize + p.Length;
        }

        if (_buffer.Length < total)
        {
            _buffer = new byte[Math.Max(total, _buffer.Length * 2)];
        }

        int position = 0;
        foreach (byte[] p in payloads)
        {
            RecordFormat.WriteHeader(_buffer.AsSpan(position, RecordFormat.HeaderSize), p);
            p.CopyTo(_buffer.AsSpan(position + RecordFormat.HeaderSize));
            position += RecordFormat.HeaderSize + p.Length;
        }

        try
        {
            _file.Write(Length, _buffer.AsSpan(0, total));
        }
        catch (IOException)
        {
            Rollback();
            throw;
        }

        Length += total;
        if (_buffer.Length > 1 << 20)
        {
            _buffer = new byte[4096];
        }
    }

    /// <summary>Drops records after <paramref name="length"/> (a group whose sync failed); marks the writer broken if that fails.</summary>
    public void TruncateTo(long length)
    {
        Length = length;
        Rollback();
    }

    public void Sync()
    {
        if (Broken)
        {
            throw new StorageException($"{_file.Path} is unusable after an earlier failed write");
        }

        _file.Sync();
    }

    public void Dispose() => _file.Dispose();

    private void Rollback()
    {
        try
        {
            _file.SetLength(Length);
        }
        catch (IOException)
        {
            Broken = true;
        }
    }
}
