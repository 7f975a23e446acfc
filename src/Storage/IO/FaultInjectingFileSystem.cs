namespace KvStore.Storage.IO;

/// <summary>
/// An in-memory <see cref="IFileSystem"/> that models POSIX durability and injects the faults
/// real disks have: power loss, torn writes, bit rot, a full device and failing fsyncs.
/// Every durability test in KvStore runs on it, and the fault-injection harness runs whole
/// servers on it, so it lives in src/.
/// </summary>
/// <remarks>
/// Model (what a careful application may rely on, and nothing more):
/// <list type="bullet">
/// <item>A file is an inode with its <em>current</em> bytes and its <em>durable</em> bytes, the
/// latter as of its last <see cref="IStorageFile.Sync"/>.</item>
/// <item>A directory has <em>current</em> entries (name → inode) and <em>durable</em> entries, the
/// latter as of its last <see cref="SyncDirectory"/>. Create, rename and delete change only the
/// current entries, so after a crash a file created in an unsynced directory is gone, and a
/// renamed or deleted one is back under its old name.</item>
/// <item><see cref="Crash()"/> reverts every directory to its durable entries and every file to its
/// durable bytes, and invalidates every open handle (further use throws
/// <see cref="ObjectDisposedException"/>).</item>
/// <item>Directories themselves (<see cref="CreateDirectory"/>) are durable at once: the stores
/// create their directory once, before any data exists, so modelling the parent's fsync would
/// only add noise.</item>
/// <item><see cref="CapacityBytes"/> bounds the sum of the current lengths of all linked files.</item>
/// </list>
/// Thread-safe: every operation takes one lock, which is enough for tests and simulations.
/// </remarks>
public sealed class FaultInjectingFileSystem : IFileSystem
{
    private readonly object _lock = new();
    private readonly Dictionary<string, DirectoryNode> _directories = new(StringComparer.Ordinal);
    private long _capacityBytes = long.MaxValue;
    private long _fileSyncCount;
    private long _directorySyncCount;
    private int _failingSyncs;

    // Bumped by every crash; a handle opened in an older epoch is dead (the process that held it died).
    private long _epoch;

    public FaultInjectingFileSystem()
    {
        _directories["/"] = new DirectoryNode();
    }

    /// <summary>Total bytes all files may hold; a write past it throws <see cref="OutOfSpaceException"/> and changes nothing.</summary>
    public long CapacityBytes
    {
        get { lock (_lock) { return _capacityBytes; } }
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            lock (_lock) { _capacityBytes = value; }
        }
    }

    /// <summary>The sum of the current lengths of all files (what <see cref="CapacityBytes"/> bounds).</summary>
    public long UsedBytes
    {
        get { lock (_lock) { return UsedBytesLocked(); } }
    }

    /// <summary>Successful file syncs since creation (crashes do not reset it).</summary>
    public long FileSyncCount
    {
        get { lock (_lock) { return _fileSyncCount; } }
    }

    /// <summary>Successful directory syncs since creation (crashes do not reset it).</summary>
    public long DirectorySyncCount
    {
        get { lock (_lock) { return _directorySyncCount; } }
    }

    /// <summary>The next <paramref name="count"/> syncs (of files or directories) throw <see cref="IOException"/> and make nothing durable.</summary>
    public void FailNextSyncs(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_lock) { _failingSyncs = count; }
    }

    public IStorageFile Open(string path, OpenMode mode)
    {
        string full = Normalize(path);
        lock (_lock)
        {
            var (directory, name) = ParentOf(full);
            directory.Current.TryGetValue(name, out FileNode? node);
            switch (mode)
            {
                case OpenMode.Read:
                case OpenMode.ReadWrite:
                    if (node is null)
                    {
                        throw new FileNotFoundException($"file not found: {full}", full);
                    }

                    break;
                case OpenMode.OpenOrCreate:
                    if (node is null)
                    {
                        node = new FileNode();
                        directory.Current[name] = node;
                    }

                    break;
                case OpenMode.CreateTruncate:
                    if (node is null)
                    {
                        node = new FileNode();
                        directory.Current[name] = node;
                    }
                    else
                    {
                        node.Truncate(0);
                    }

                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown open mode");
            }

            return new FaultInjectingFile(this, full, node, writable: mode != OpenMode.Read, _epoch);
        }
    }

    public bool FileExists(string path)
    {
        string full = Normalize(path);
        lock (_lock)
        {
            return _directories.TryGetValue(DirectoryOf(full), out DirectoryNode? directory)
                && directory.Current.ContainsKey(System.IO.Path.GetFileName(full));
        }
    }

    public bool DirectoryExists(string path)
    {
        string full = Normalize(path);
        lock (_lock)
        {
            return _directories.ContainsKey(full);
        }
    }

    public void CreateDirectory(string path)
    {
        string full = Normalize(path);
        lock (_lock)
        {
            for (string? d = full; d is not null && !_directories.ContainsKey(d); d = System.IO.Path.GetDirectoryName(d))
            {
                _directories[d] = new DirectoryNode();
            }
        }
    }

    public void DeleteFile(string path)
    {
        string full = Normalize(path);
        lock (_lock)
        {
            if (_directories.TryGetValue(DirectoryOf(full), out DirectoryNode? directory))
            {
                directory.Current.Remove(System.IO.Path.GetFileName(full));
            }
        }
    }

    public void Rename(string source, string destination)
    {
        string from = Normalize(source);
        string to = Normalize(destination);
        lock (_lock)
        {
            var (fromDirectory, fromName) = ParentOf(from);
            var (toDirectory, toName) = ParentOf(to);
            if (!fromDirectory.Current.Remove(fromName, out FileNode? node))
            {
                throw new FileNotFoundException($"cannot rename {from}: file not found", from);
            }

            toDirectory.Current[toName] = node;
        }
    }

    public IReadOnlyList<string> ListFiles(string directory)
    {
        string full = Normalize(directory);
        lock (_lock)
        {
            if (!_directories.TryGetValue(full, out DirectoryNode? node))
            {
                throw new DirectoryNotFoundException($"directory not found: {full}");
            }

            var names = node.Current.Keys.ToList();
            names.Sort(StringComparer.Ordinal);
            return names;
        }
    }

    public void SyncDirectory(string directory)
    {
        string full = Normalize(directory);
        lock (_lock)
        {
            if (!_directories.TryGetValue(full, out DirectoryNode? node))
            {
                throw new DirectoryNotFoundException($"directory not found: {full}");
            }

            ConsumeInjectedSyncFailure(full);
            node.Durable = new Dictionary<string, FileNode>(node.Current, StringComparer.Ordinal);
            _directorySyncCount++;
        }
    }

    /// <summary>Power loss: everything not durable is lost (<see cref="CrashMode.LoseUnsynced"/>).</summary>
    public void Crash() => Crash(CrashMode.LoseUnsynced, new Random(0));

    /// <summary>
    /// Power loss with the given <paramref name="mode"/>. Deterministic for a given <paramref name="rng"/> state:
    /// files are visited in path order.
    /// </summary>
    public void Crash(CrashMode mode, Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        lock (_lock)
        {
            _epoch++;
            foreach (var (_, directory) in _directories.OrderBy(d => d.Key, StringComparer.Ordinal))
            {
                directory.Current = new Dictionary<string, FileNode>(directory.Durable, StringComparer.Ordinal);
            }

            // Every inode is reverted once, even if (after renames) it were reachable under two names.
            var seen = new HashSet<FileNode>(ReferenceEqualityComparer.Instance);
            foreach (var (_, directory) in _directories.OrderBy(d => d.Key, StringComparer.Ordinal))
            {
                foreach (var (_, node) in directory.Current.OrderBy(e => e.Key, StringComparer.Ordinal))
                {
                    if (seen.Add(node))
                    {
                        node.Revert(mode, rng);
                    }
                }
            }
        }
    }

    /// <summary>Flips one bit of a file's stored data, in both its current and its durable bytes (bit rot on the medium).</summary>
    public void FlipBit(string path, long offset, int bit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(bit);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bit, 7);
        string full = Normalize(path);
        lock (_lock)
        {
            FileNode node = Lookup(full);
            if (offset >= node.Length && offset >= node.DurableLength)
            {
                throw new ArgumentOutOfRangeException(nameof(offset), offset, $"offset is past the end of {full}");
            }

            node.FlipBit(offset, bit);
        }
    }

    /// <summary>The current bytes of a file (test inspection).</summary>
    public byte[] ReadAllBytes(string path)
    {
        string full = Normalize(path);
        lock (_lock)
        {
            return Lookup(full).CurrentBytes();
        }
    }

    /// <summary>The length of a file as of its last sync (test inspection).</summary>
    public long DurableLength(string path)
    {
        string full = Normalize(path);
        lock (_lock)
        {
            return Lookup(full).DurableLength;
        }
    }

    private FileNode Lookup(string full)
    {
        var (directory, name) = ParentOf(full);
        if (!directory.Current.TryGetValue(name, out FileNode? node))
        {
            throw new FileNotFoundException($"file not found: {full}", full);
        }

        return node;
    }

    private (DirectoryNode Directory, string Name) ParentOf(string full)
    {
        string parent = DirectoryOf(full);
        if (!_directories.TryGetValue(parent, out DirectoryNode? directory))
        {
            throw new DirectoryNotFoundException($"directory not found: {parent}");
        }

        return (directory, System.IO.Path.GetFileName(full));
    }

    private static string DirectoryOf(string full) => System.IO.Path.GetDirectoryName(full) ?? "/";

    private static string Normalize(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = System.IO.Path.GetFullPath(path);
        return full.Length > 1 ? full.TrimEnd('/') : full;
    }

    private long UsedBytesLocked()
    {
        long total = 0;
        var seen = new HashSet<FileNode>(ReferenceEqualityComparer.Instance);
        foreach (DirectoryNode directory in _directories.Values)
        {
            foreach (FileNode node in directory.Current.Values)
            {
                if (seen.Add(node))
                {
                    total += node.Length;
                }
            }
        }

        return total;
    }

    private bool IsLinked(FileNode node)
    {
        foreach (DirectoryNode directory in _directories.Values)
        {
            foreach (FileNode linked in directory.Current.Values)
            {
                if (ReferenceEquals(linked, node))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Throws <see cref="OutOfSpaceException"/> if growing <paramref name="node"/> to <paramref name="newLength"/> would pass the capacity.</summary>
    private void ReserveLocked(FileNode node, long newLength, string path)
    {
        long growth = newLength - node.Length;
        if (growth <= 0 || _capacityBytes == long.MaxValue)
        {
            return;
        }

        // An unlinked inode (deleted while open) still uses space on a real disk; count it while it grows.
        long used = UsedBytesLocked() + (IsLinked(node) ? 0 : node.Length);
        if (used + growth > _capacityBytes)
        {
            throw new OutOfSpaceException(path);
        }
    }

    private void ConsumeInjectedSyncFailure(string path)
    {
        if (_failingSyncs > 0)
        {
            _failingSyncs--;
            throw new IOException($"injected fsync failure on {path}");
        }
    }

    private sealed class DirectoryNode
    {
        public Dictionary<string, FileNode> Current { get; set; } = new(StringComparer.Ordinal);

        public Dictionary<string, FileNode> Durable { get; set; } = new(StringComparer.Ordinal);
    }

    /// <summary>An inode: current bytes, and durable bytes as of the last sync.</summary>
    private sealed class FileNode
    {
        private byte[] _current = [];
        private byte[] _durable = [];

        // Lowest offset changed since the last sync: a sync copies only [_dirtyFrom, Length),
        // so appending and syncing a large segment costs what was appended, not the whole file.
        private long _dirtyFrom;

        public long Length { get; private set; }

        public long DurableLength { get; private set; }

        public byte[] CurrentBytes() => _current.AsSpan(0, (int)Length).ToArray();

        public int Read(long offset, Span<byte> buffer)
        {
            if (offset >= Length)
            {
                return 0;
            }

            int count = (int)Math.Min(buffer.Length, Length - offset);
            _current.AsSpan((int)offset, count).CopyTo(buffer);
            return count;
        }

        public void Write(long offset, ReadOnlySpan<byte> data)
        {
            long end = offset + data.Length;
            if (end > Length)
            {
                Grow(ref _current, end);
                if (offset > Length)
                {
                    // A hole reads as zeros; the buffer may hold stale bytes from before a truncate.
                    _current.AsSpan((int)Length, (int)(offset - Length)).Clear();
                }

                Length = end;
            }

            data.CopyTo(_current.AsSpan((int)offset));
            _dirtyFrom = Math.Min(_dirtyFrom, offset);
        }

        public void Truncate(long length)
        {
            if (length > Length)
            {
                Grow(ref _current, length);
                _current.AsSpan((int)Length, (int)(length - Length)).Clear();
            }

            _dirtyFrom = Math.Min(_dirtyFrom, Math.Min(length, Length));
            Length = length;
        }

        public void Sync()
        {
            Grow(ref _durable, Length);
            if (_dirtyFrom < Length)
            {
                _current.AsSpan((int)_dirtyFrom, (int)(Length - _dirtyFrom)).CopyTo(_durable.AsSpan((int)_dirtyFrom));
            }

            DurableLength = Length;
            _dirtyFrom = Length;
        }

        public void Revert(CrashMode mode, Random rng)
        {
            long survivingTail = 0;
            if (mode != CrashMode.LoseUnsynced && Length > DurableLength)
            {
                // Unsynced bytes past the durable length: the disk may have written any prefix of them.
                long unsynced = Length - DurableLength;
                survivingTail = rng.NextInt64(unsynced + 1);
            }

            var restored = new byte[DurableLength + survivingTail];
            _durable.AsSpan(0, (int)DurableLength).CopyTo(restored);
            _current.AsSpan((int)DurableLength, (int)survivingTail).CopyTo(restored.AsSpan((int)DurableLength));
            if (mode == CrashMode.TornTailWithGarbage && survivingTail > 0)
            {
                long garbage = rng.NextInt64(survivingTail + 1);
                rng.NextBytes(restored.AsSpan((int)(restored.Length - garbage), (int)garbage));
            }

            _current = restored;
            Length = restored.Length;
            var durable = new byte[Length];
            restored.CopyTo(durable, 0);
            _durable = durable;
            DurableLength = Length;
            _dirtyFrom = Length;
        }

        public void FlipBit(long offset, int bit)
        {
            byte mask = (byte)(1 << bit);
            if (offset < Length)
            {
                _current[offset] ^= mask;
            }

            if (offset < DurableLength)
            {
                _durable[offset] ^= mask;
            }
        }

        private static void Grow(ref byte[] buffer, long length)
        {
            if (length > Array.MaxLength)
            {
                throw new IOException($"a simulated file is limited to {Array.MaxLength} bytes");
            }

            if (buffer.Length < length)
            {
                long size = Math.Max(length, Math.Min((long)buffer.Length * 2, Array.MaxLength));
                Array.Resize(ref buffer, (int)Math.Max(size, 4096));
            }
        }
    }

    private sealed class FaultInjectingFile(FaultInjectingFileSystem fileSystem, string path, FileNode node, bool writable, long epoch)
        : IStorageFile
    {
        private bool _disposed;

        public string Path { get; } = path;

        public long Length
        {
            get
            {
                lock (fileSystem._lock)
                {
                    EnsureUsable();
                    return node.Length;
                }
            }
        }

        public int Read(long offset, Span<byte> buffer)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(offset);
            lock (fileSystem._lock)
            {
                EnsureUsable();
                return node.Read(offset, buffer);
            }
        }

        public void Write(long offset, ReadOnlySpan<byte> data)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(offset);
            lock (fileSystem._lock)
            {
                EnsureWritable();
                fileSystem.ReserveLocked(node, offset + data.Length, Path);
                node.Write(offset, data);
            }
        }

        public void Append(ReadOnlySpan<byte> data)
        {
            lock (fileSystem._lock)
            {
                EnsureWritable();
                fileSystem.ReserveLocked(node, node.Length + data.Length, Path);
                node.Write(node.Length, data);
            }
        }

        public void SetLength(long length)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(length);
            lock (fileSystem._lock)
            {
                EnsureWritable();
                fileSystem.ReserveLocked(node, length, Path);
                node.Truncate(length);
            }
        }

        public void Sync()
        {
            lock (fileSystem._lock)
            {
                EnsureUsable();
                fileSystem.ConsumeInjectedSyncFailure(Path);
                node.Sync();
                fileSystem._fileSyncCount++;
            }
        }

        public void Dispose()
        {
            lock (fileSystem._lock)
            {
                _disposed = true;
            }
        }

        private void EnsureUsable()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (epoch != fileSystem._epoch)
            {
                throw new ObjectDisposedException(Path, $"the handle on {Path} died in a simulated crash");
            }
        }

        private void EnsureWritable()
        {
            EnsureUsable();
            if (!writable)
            {
                throw new UnauthorizedAccessException($"{Path} is open read-only");
            }
        }
    }
}
