namespace KvStore.Storage.IO;

/// <summary>
/// An <see cref="IFileSystem"/> that keeps every write in this process's memory until the file is
/// synced, and only then writes it through to the file system underneath. A process killed with
/// SIGKILL therefore loses exactly what a power cut may lose: every byte not yet synced. The
/// fault-injection harness runs servers on it (<c>kvstore serve --fault-lose-unsynced-writes</c>, the
/// lost-writes nemesis) to show that nothing acknowledged depended on an unsynced write.
/// </summary>
/// <remarks>
/// Model:
/// <list type="bullet">
/// <item>File contents (writes and length changes through a handle) are held as dirty 4 KiB pages and
/// a pending length per file. Every handle of the same file sees them (the process reads its own
/// writes, as through a page cache). <see cref="IStorageFile.Sync"/> writes the file's dirty pages and
/// length through and syncs the file underneath.</item>
/// <item>Directory operations (create, truncate-on-open, rename, delete) reach the file system
/// underneath at once, as the kernel applies them whether or not the process lives on; their
/// durability across a real power cut is then the underlying file system's business.</item>
/// <item>A file closed with unsynced writes keeps them in memory (a later open sees them) until it is
/// synced, deleted or replaced, or the process dies. That is stricter than Linux, whose writeback
/// would flush them within half a minute, and allowed by POSIX: unsynced data has no promise.</item>
/// </list>
/// Thread-safe: the path table takes one lock, each file's pages another (table lock first).
/// </remarks>
public sealed class BufferUntilSyncFileSystem(IFileSystem underlying) : IFileSystem
{
    private const int PageSize = 4096;

    private readonly object _lock = new();

    // Files that are open or hold unsynced writes, by full path. A file in neither state is not here:
    // the file underneath is the whole truth about it.
    private readonly Dictionary<string, BufferedInode> _inodes = new(StringComparer.Ordinal);

    /// <summary>Bytes of dirty pages held in memory, all files together.</summary>
    public long UnsyncedBytes
    {
        get
        {
            lock (_lock)
            {
                return _inodes.Values.Sum(i => i.DirtyBytes);
            }
        }
    }

    public IStorageFile Open(string path, OpenMode mode)
    {
        string full = System.IO.Path.GetFullPath(path);
        lock (_lock)
        {
            if (_inodes.TryGetValue(full, out BufferedInode? inode))
            {
                if (mode == OpenMode.CreateTruncate)
                {
                    inode.TruncateNow();
                }
            }
            else
            {
                IStorageFile backing = underlying.Open(full, mode switch
                {
                    OpenMode.Read or OpenMode.ReadWrite => OpenMode.ReadWrite,
                    OpenMode.OpenOrCreate => OpenMode.OpenOrCreate,
                    OpenMode.CreateTruncate => OpenMode.CreateTruncate,
                    _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown open mode"),
                });
                inode = new BufferedInode(backing, full);
                _inodes.Add(full, inode);
            }

            inode.OpenHandles++;
            return new BufferedFile(this, full, inode, writable: mode != OpenMode.Read);
        }
    }

    public bool FileExists(string path) => underlying.FileExists(path);

    public bool DirectoryExists(string path) => underlying.DirectoryExists(path);

    public void CreateDirectory(string path) => underlying.CreateDirectory(path);

    public void DeleteFile(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        lock (_lock)
        {
            underlying.DeleteFile(full);
            Unlink(full);
        }
    }

    public void Rename(string source, string destination)
    {
        string from = System.IO.Path.GetFullPath(source);
        string to = System.IO.Path.GetFullPath(destination);
        lock (_lock)
        {
            underlying.Rename(from, to);
            if (from == to)
            {
                return;
            }

            Unlink(to);
            if (_inodes.Remove(from, out BufferedInode? moved))
            {
                moved.CurrentPath = to;
                _inodes.Add(to, moved);
            }
        }
    }

    public IReadOnlyList<string> ListFiles(string directory) => underlying.ListFiles(directory);

    public void SyncDirectory(string directory) => underlying.SyncDirectory(directory);

    /// <summary>Forgets the inode at <paramref name="full"/> (deleted or replaced); its open handles keep it alive.</summary>
    private void Unlink(string full)
    {
        if (_inodes.Remove(full, out BufferedInode? gone))
        {
            gone.CurrentPath = null;
            if (gone.OpenHandles == 0)
            {
                gone.Backing.Dispose();
            }
        }
    }

    /// <summary>A handle was closed: drop the inode when nothing is open and nothing is unsynced.</summary>
    private void Release(BufferedInode inode)
    {
        lock (_lock)
        {
            inode.OpenHandles--;
            if (inode.OpenHandles > 0)
            {
                return;
            }

            if (inode.CurrentPath is null)
            {
                inode.Backing.Dispose();
            }
            else if (!inode.HasUnsyncedChanges)
            {
                _inodes.Remove(inode.CurrentPath);
                inode.Backing.Dispose();
            }
        }
    }

    /// <summary>One file's unsynced state over its file underneath.</summary>
    private sealed class BufferedInode(IStorageFile backing, string path)
    {
        private readonly object _gate = new();
        private readonly Dictionary<long, byte[]> _dirty = [];

        // Invariant: bytes of a dirty page at or past _length are zero, and _clean <= _length.
        private long _length = backing.Length;

        // Bytes [0, _clean) of the file underneath are still this file's contents where no dirty page
        // covers them; past it (the file was shrunk since the last sync) the file reads zeros.
        private long _clean = backing.Length;
        private bool _lengthChanged;

        public IStorageFile Backing { get; } = backing;

        // Guarded by the file system's lock.
        public int OpenHandles { get; set; }

        /// <summary>Where the file is now (renames move it); null once deleted or replaced. Guarded by the file system's lock.</summary>
        public string? CurrentPath { get; set; } = path;

        public bool HasUnsyncedChanges
        {
            get
            {
                lock (_gate)
                {
                    return _dirty.Count > 0 || _lengthChanged;
                }
            }
        }

        public long DirtyBytes
        {
            get
            {
                lock (_gate)
                {
                    return (long)_dirty.Count * PageSize;
                }
            }
        }

        public long Length
        {
            get
            {
                lock (_gate)
                {
                    return _length;
                }
            }
        }

        /// <summary>O_TRUNC: like creation, a directory-level change that happens at once.</summary>
        public void TruncateNow()
        {
            lock (_gate)
            {
                Backing.SetLength(0);
                _dirty.Clear();
                _length = 0;
                _clean = 0;
                _lengthChanged = false;
            }
        }

        public int Read(long offset, Span<byte> buffer)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(offset);
            lock (_gate)
            {
                if (offset >= _length)
                {
                    return 0;
                }

                int count = (int)Math.Min(buffer.Length, _length - offset);
                int done = 0;
                while (done < count)
                {
                    long position = offset + done;
                    long page = position / PageSize;
                    int inPage = (int)(position % PageSize);
                    int n = Math.Min(count - done, PageSize - inPage);
                    if (_dirty.TryGetValue(page, out byte[]? bytes))
                    {
                        bytes.AsSpan(inPage, n).CopyTo(buffer.Slice(done, n));
                    }
                    else
                    {
                        ReadClean(position, buffer.Slice(done, n));
                    }

                    done += n;
                }

                return count;
            }
        }

        public void Write(long offset, ReadOnlySpan<byte> data)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(offset);
            lock (_gate)
            {
                int done = 0;
                while (done < data.Length)
                {
                    long position = offset + done;
                    long page = position / PageSize;
                    int inPage = (int)(position % PageSize);
                    int n = Math.Min(data.Length - done, PageSize - inPage);
                    data.Slice(done, n).CopyTo(DirtyPage(page).AsSpan(inPage, n));
                    done += n;
                }

                if (offset + data.Length > _length)
                {
                    _length = offset + data.Length;
                    _lengthChanged = true;
                }
            }
        }

        public void SetLength(long length)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(length);
            lock (_gate)
            {
                if (length < _length)
                {
                    foreach (long page in _dirty.Keys.Where(p => p * PageSize >= length).ToList())
                    {
                        _dirty.Remove(page);
                    }

                    if (_dirty.TryGetValue(length / PageSize, out byte[]? last))
                    {
                        last.AsSpan((int)(length % PageSize)).Clear();
                    }

                    _clean = Math.Min(_clean, length);
                }

                _length = length;
                _lengthChanged = true;
            }
        }

        /// <summary>Writes the dirty pages and the length through, then syncs the file underneath.</summary>
        public void Sync()
        {
            lock (_gate)
            {
                if (_clean < Backing.Length)
                {
                    Backing.SetLength(_clean);
                }

                foreach ((long page, byte[] bytes) in _dirty.OrderBy(p => p.Key))
                {
                    long start = page * PageSize;
                    int n = (int)Math.Min(PageSize, _length - start);
                    if (n > 0)
                    {
                        Backing.Write(start, bytes.AsSpan(0, n));
                    }
                }

                if (Backing.Length != _length)
                {
                    Backing.SetLength(_length);
                }

                Backing.Sync();
                _dirty.Clear();
                _clean = _length;
                _lengthChanged = false;
            }
        }

        private byte[] DirtyPage(long page)
        {
            if (!_dirty.TryGetValue(page, out byte[]? bytes))
            {
                bytes = new byte[PageSize];
                long start = page * PageSize;
                if (start < _length)
                {
                    ReadClean(start, bytes.AsSpan(0, (int)Math.Min(PageSize, _length - start)));
                }

                _dirty.Add(page, bytes);
            }

            return bytes;
        }

        /// <summary>Bytes not covered by a dirty page: the file underneath up to <see cref="_clean"/>, zeros past it.</summary>
        private void ReadClean(long position, Span<byte> destination)
        {
            destination.Clear();
            if (position < _clean)
            {
                int fromBacking = (int)Math.Min(destination.Length, _clean - position);
                int read = Backing.Read(position, destination[..fromBacking]);
                if (read < fromBacking)
                {
                    throw new IOException($"{read} bytes at offset {position} of a file underneath that should hold {fromBacking} (changed behind the buffering file system?)");
                }
            }
        }
    }

    private sealed class BufferedFile(BufferUntilSyncFileSystem fileSystem, string path, BufferedInode inode, bool writable) : IStorageFile
    {
        private int _disposed;

        public string Path { get; } = path;

        public long Length
        {
            get
            {
                ThrowIfDisposed();
                return inode.Length;
            }
        }

        public int Read(long offset, Span<byte> buffer)
        {
            ThrowIfDisposed();
            return inode.Read(offset, buffer);
        }

        public void Write(long offset, ReadOnlySpan<byte> data)
        {
            ThrowIfNotWritable();
            inode.Write(offset, data);
        }

        public void SetLength(long length)
        {
            ThrowIfNotWritable();
            inode.SetLength(length);
        }

        public void Sync()
        {
            ThrowIfDisposed();
            inode.Sync();
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                fileSystem.Release(inode);
            }
        }

        private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

        private void ThrowIfNotWritable()
        {
            ThrowIfDisposed();
            if (!writable)
            {
                throw new UnauthorizedAccessException($"{Path} was opened read-only");
            }
        }
    }
}
