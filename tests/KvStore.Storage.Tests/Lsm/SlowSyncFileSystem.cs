using KvStore.Storage.IO;

namespace KvStore.Storage.Tests.Lsm;

/// <summary>Passes through to another file system, but each file sync takes a while, like a real disk's fsync.</summary>
internal sealed class SlowSyncFileSystem(IFileSystem inner, TimeSpan syncDelay) : IFileSystem
{
    public IStorageFile Open(string path, OpenMode mode) => new SlowFile(inner.Open(path, mode), syncDelay);

    public bool FileExists(string path) => inner.FileExists(path);

    public bool DirectoryExists(string path) => inner.DirectoryExists(path);

    public void CreateDirectory(string path) => inner.CreateDirectory(path);

    public void DeleteFile(string path) => inner.DeleteFile(path);

    public void Rename(string source, string destination) => inner.Rename(source, destination);

    public IReadOnlyList<string> ListFiles(string directory) => inner.ListFiles(directory);

    public void SyncDirectory(string directory) => inner.SyncDirectory(directory);

    private sealed class SlowFile(IStorageFile file, TimeSpan delay) : IStorageFile
    {
        public string Path => file.Path;

        public long Length => file.Length;

        public int Read(long offset, Span<byte> buffer) => file.Read(offset, buffer);

        public void Write(long offset, ReadOnlySpan<byte> data) => file.Write(offset, data);

        public void SetLength(long length) => file.SetLength(length);

        public void Sync()
        {
            Thread.Sleep(delay);
            file.Sync();
        }

        public void Dispose() => file.Dispose();
    }
}
