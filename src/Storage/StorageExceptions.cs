namespace KvStore.Storage;

/// <summary>Base of the storage engine's typed errors.</summary>
public class StorageException : IOException
{
    public StorageException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>
/// Stored bytes failed a check (CRC, magic, length, format version). Names the file and
/// the offset of the bad record or block so an operator can find it; wrong data is never
/// returned in its place.
/// </summary>
public sealed class StorageCorruptionException : StorageException
{
    public StorageCorruptionException(string file, long offset, string what)
        : base($"corrupted data in {file} at offset {offset}: {what}")
    {
        File = file;
        Offset = offset;
    }

    public string File { get; }

    public long Offset { get; }
}

/// <summary>The device has no space left (ENOSPC). The write failed; what was stored before stays readable.</summary>
public sealed class OutOfSpaceException : StorageException
{
    public OutOfSpaceException(string file, Exception? inner = null)
        : base($"no space left on device while writing {file}", inner)
    {
        File = file;
    }

    public string File { get; }
}
