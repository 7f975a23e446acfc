namespace KvStore.Storage.IO;

/// <summary>
/// The one seam through which KvStore touches the disk (LevelDB's <c>Env</c>).
/// Every durability claim is tested through a fault-injecting implementation of it,
/// so code in src/ must never call <see cref="System.IO.File"/> or
/// <see cref="System.IO.Directory"/> directly.
/// </summary>
/// <remarks>
/// Durability contract, the same as POSIX with a careful application:
/// bytes written to a file are durable only after <see cref="IStorageFile.Sync"/>;
/// a file's existence (create, rename, delete) is durable only after
/// <see cref="SyncDirectory"/> on its parent directory.
/// Paths are absolute or relative to the process' working directory; '/' separates.
/// </remarks>
public interface IFileSystem
{
    /// <summary>Opens a file. Throws <see cref="FileNotFoundException"/> if it must exist and does not.</summary>
    IStorageFile Open(string path, OpenMode mode);

    bool FileExists(string path);

    bool DirectoryExists(string path);

    /// <summary>Creates the directory and its missing parents; does nothing if it exists.</summary>
    void CreateDirectory(string path);

    /// <summary>Deletes a file; does nothing if it is absent.</summary>
    void DeleteFile(string path);

    /// <summary>Atomically replaces <paramref name="destination"/> with <paramref name="source"/> (rename(2)).</summary>
    void Rename(string source, string destination);

    /// <summary>The names (not paths) of the files directly inside <paramref name="directory"/>, sorted ordinally.</summary>
    IReadOnlyList<string> ListFiles(string directory);

    /// <summary>Makes the directory's entries (creates, renames, deletes) durable: fsync on the directory.</summary>
    void SyncDirectory(string directory);
}

/// <summary>How <see cref="IFileSystem.Open"/> opens a file.</summary>
public enum OpenMode
{
    /// <summary>Read only; the file must exist.</summary>
    Read,
    /// <summary>Read and write; the file must exist.</summary>
    ReadWrite,
    /// <summary>Read and write; created empty if absent, kept as it is if present.</summary>
    OpenOrCreate,
    /// <summary>Read and write; created empty, truncating any previous contents.</summary>
    CreateTruncate,
}

/// <summary>An open file. Positional reads and writes; not safe for concurrent writers.</summary>
public interface IStorageFile : IDisposable
{
    string Path { get; }

    /// <summary>Current length, including bytes written but not yet synced.</summary>
    long Length { get; }

    /// <summary>Reads up to <c>buffer.Length</c> bytes at <paramref name="offset"/>; returns the count read (short only at end of file).</summary>
    int Read(long offset, Span<byte> buffer);

    /// <summary>Writes at <paramref name="offset"/>, extending the file if needed. Throws <see cref="OutOfSpaceException"/> when the device is full.</summary>
    void Write(long offset, ReadOnlySpan<byte> data);

    /// <summary>Writes at the current end of the file.</summary>
    void Append(ReadOnlySpan<byte> data) => Write(Length, data);

    /// <summary>Sets the length; shrinking drops the tail.</summary>
    void SetLength(long length);

    /// <summary>Makes every byte written so far durable (fdatasync).</summary>
    void Sync();
}
