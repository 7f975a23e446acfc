using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace KvStore.Storage.IO;

/// <summary>The real disk, through positional I/O on file handles.</summary>
public sealed class PhysicalFileSystem : IFileSystem
{
    public static PhysicalFileSystem Instance { get; } = new();

    public IStorageFile Open(string path, OpenMode mode)
    {
        var (fileMode, access) = mode switch
        {
            OpenMode.Read => (FileMode.Open, FileAccess.Read),
            OpenMode.ReadWrite => (FileMode.Open, FileAccess.ReadWrite),
            OpenMode.OpenOrCreate => (FileMode.OpenOrCreate, FileAccess.ReadWrite),
            OpenMode.CreateTruncate => (FileMode.Create, FileAccess.ReadWrite),
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown open mode"),
        };
        var handle = File.OpenHandle(path, fileMode, access, FileShare.ReadWrite | FileShare.Delete);
        return new PhysicalFile(path, handle);
    }

    public bool FileExists(string path) => File.Exists(path);

    public bool DirectoryExists(string path) => Directory.Exists(path);

    public void CreateDirectory(string path) => Directory.CreateDirectory(path);

    public void DeleteFile(string path) => File.Delete(path);

    public void Rename(string source, string destination) => File.Move(source, destination, overwrite: true);

    public IReadOnlyList<string> ListFiles(string directory)
    {
        var names = Directory.GetFiles(directory).Select(System.IO.Path.GetFileName).OfType<string>().ToList();
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    public void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return; // Windows has no directory fsync; NTFS journals metadata.
        }

        int fd = Native.open(directory, Native.O_RDONLY);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory {directory} to sync it (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            if (Native.fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = Native.close(fd);
        }
    }

    private sealed class PhysicalFile(string path, SafeFileHandle handle) : IStorageFile
    {
        // ENOSPC on Linux, ERROR_DISK_FULL / ERROR_HANDLE_DISK_FULL on Windows.
        private const int Enospc = 28;

        public string Path { get; } = path;

        public long Length => RandomAccess.GetLength(handle);

        public int Read(long offset, Span<byte> buffer)
        {
            int total = 0;
            while (total < buffer.Length)
            {
                int n = RandomAccess.Read(handle, buffer[total..], offset + total);
                if (n == 0)
                {
                    break;
                }

                total += n;
            }

            return total;
        }

        public void Write(long offset, ReadOnlySpan<byte> data)
        {
            try
            {
                RandomAccess.Write(handle, data, offset);
            }
            catch (IOException e) when (IsOutOfSpace(e))
            {
                throw new OutOfSpaceException(Path, e);
            }
        }

        public void SetLength(long length) => RandomAccess.SetLength(handle, length);

        public void Sync()
        {
            try
            {
                if (OperatingSystem.IsLinux())
                {
                    // fdatasync: the data and the size, not the timestamps, which is all recovery needs
                    // and saves a metadata write per sync.
                    bool added = false;
                    handle.DangerousAddRef(ref added);
                    try
                    {
                        if (Native.fdatasync((int)handle.DangerousGetHandle()) != 0)
                        {
                            int errno = Marshal.GetLastPInvokeError();
                            throw new IOException($"fdatasync of {Path} failed (errno {errno})", errno);
                        }
                    }
                    finally
                    {
                        if (added)
                        {
                            handle.DangerousRelease();
                        }
                    }
                }
                else
                {
                    RandomAccess.FlushToDisk(handle);
                }
            }
            catch (IOException e) when (IsOutOfSpace(e))
            {
                throw new OutOfSpaceException(Path, e);
            }
        }

        public void Dispose() => handle.Dispose();

        private static bool IsOutOfSpace(IOException e) =>
            (e.HResult & 0xFFFF) is Enospc or 0x70 or 0x27;
    }

    private static class Native
    {
        public const int O_RDONLY = 0;

        [DllImport("libc", SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        public static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int close(int fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int fdatasync(int fd);
    }
}
