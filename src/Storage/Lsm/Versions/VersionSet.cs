using System.Text;
using KvStore.Storage.IO;
using KvStore.Storage.Lsm.Records;

namespace KvStore.Storage.Lsm.Versions;

/// <summary>
/// The current <see cref="Version"/> and the counters that go with it, made durable in the
/// manifest: a record file (<see cref="RecordFormat"/>) of <see cref="VersionEdit"/>s whose
/// first record is a snapshot of the whole state. <c>CURRENT</c> names the live manifest and is
/// replaced atomically: write <c>NNNNNN.dbtmp</c>, sync it, rename it over CURRENT, sync the
/// directory. Each open starts a new manifest, so manifests never grow without bound.
/// </summary>
/// <remarks>
/// An edit takes effect in memory only after it is synced to the manifest. If writing or
/// syncing an edit fails, the manifest may end in a partial record, so the next edit goes to a
/// fresh manifest (a snapshot plus the edit) before CURRENT is switched to it: no edit is ever
/// half applied, and a failed edit is never appended after.
/// </remarks>
internal sealed class VersionSet : IDisposable
{
    private readonly IFileSystem _fs;
    private readonly string _directory;
    private readonly object _manifestLock = new();
    private RecordWriter? _manifest;
    private ulong _nextFileNumber = 2;

    public VersionSet(IFileSystem fileSystem, string directory)
    {
        _fs = fileSystem;
        _directory = directory;
    }

    public Version Current { get; private set; } = Version.Empty;

    public ulong ManifestNumber { get; private set; }

    /// <summary>WAL files numbered below this are fully contained in tables.</summary>
    public ulong LogNumber { get; private set; }

    /// <summary>Last sequence number recorded by an edit (the database tracks the live one).</summary>
    public ulong LastSequence { get; private set; }

    /// <summary>Highest Raft applied index covered by the tables.</summary>
    public long AppliedIndex { get; private set; }

    public byte[]?[] CompactPointers { get; } = new byte[]?[Version.NumLevels];

    public ulong NextFileNumber => Interlocked.Read(ref _nextFileNumber);

    public ulong NewFileNumber() => Interlocked.Increment(ref _nextFileNumber) - 1;

    /// <summary>Makes sure no future number collides with a file already on disk.</summary>
    public void MarkFileNumberUsed(ulong number)
    {
        ulong seen;
        while ((seen = Interlocked.Read(ref _nextFileNumber)) <= number)
        {
            Interlocked.CompareExchange(ref _nextFileNumber, number + 1, seen);
        }
    }

    /// <summary>Loads the state named by CURRENT. Returns false if the directory holds no database.</summary>
    public bool Recover()
    {
        string currentPath = FileNames.Join(_directory, FileNames.Current);
        if (!_fs.FileExists(currentPath))
        {
            return false;
        }

        string manifestName;
        using (IStorageFile current = _fs.Open(currentPath, OpenMode.Read))
        {
            var bytes = new byte[Math.Min(current.Length, 256)];
            int n = current.Read(0, bytes);
            string text = Encoding.ASCII.GetString(bytes, 0, n);
            if (!text.EndsWith('\n') || FileNames.Parse(text.TrimEnd('\n')).Kind != FileNames.Kind.Manifest)
            {
                throw new StorageCorruptionException(currentPath, 0, "CURRENT does not name a manifest");
            }

            manifestName = text.TrimEnd('\n');
        }

        string manifestPath = FileNames.Join(_directory, manifestName);
        if (!_fs.FileExists(manifestPath))
        {
            throw new StorageCorruptionException(currentPath, 0, $"CURRENT names {manifestName}, which does not exist");
        }

        bool sawLog = false, sawNext = false, sawSequence = false;
        Version version = Version.Empty;
        RecordReader reader = RecordReader.Open(_fs, manifestPath);
        foreach (var (offset, payload) in reader.ReadAll())
        {
            VersionEdit edit = VersionEdit.Decode(payload, manifestPath, offset);
            try
            {
                version = version.Apply(edit);
            }
            catch (InvalidOperationException e)
            {
                throw new StorageCorruptionException(manifestPath, offset, e.Message);
            }

            if (edit.LogNumber is ulong log)
            {
                LogNumber = log;
                sawLog = true;
            }

            if (edit.NextFileNumber is ulong next)
            {
                _nextFileNumber = next;
                sawNext = true;
            }

            if (edit.LastSequence is ulong seq)
            {
                LastSequence = seq;
                sawSequence = true;
            }

            if (edit.AppliedIndex is long applied)
            {
                AppliedIndex = applied;
            }

            foreach (var (level, key) in edit.CompactPointers)
            {
                CompactPointers[level] = key;
            }
        }

        if (!sawLog || !sawNext || !sawSequence)
        {
            throw new StorageCorruptionException(manifestPath, 0, "manifest lacks log number, next file number or last sequence");
        }

        Current = version;
        ManifestNumber = FileNames.Parse(manifestName).Number;
        MarkFileNumberUsed(ManifestNumber);
        return true;
    }

    /// <summary>
    /// Writes <paramref name="edit"/> durably, then applies it; <paramref name="install"/> runs
    /// with the new version while <paramref name="stateLock"/> is held, so readers see the
    /// version change together with whatever the caller changes there (dropping a flushed memtable).
    /// </summary>
    public Version LogAndApply(VersionEdit edit, object stateLock, Action<Version>? install = null)
    {
        lock (_manifestLock)
        {
            edit.NextFileNumber = NextFileNumber;
            Version next = Current.Apply(edit);
            if (edit.NewFiles.Count > 0)
            {
                // New tables' directory entries must be durable before an edit names them.
                _fs.SyncDirectory(_directory);
            }

            if (_manifest == null)
            {
                WriteNewManifest(next, edit);
            }
            else
            {
                try
                {
                    _manifest.Append(edit.Encode());
                    _manifest.Sync();
                }
                catch (IOException)
                {
                    // The manifest may now end in a partial or unsynced record: never append after it.
                    _manifest.Dispose();
                    _manifest = null;
                    throw;
                }
            }

            lock (stateLock)
            {
                Current = next;
                LogNumber = edit.LogNumber ?? LogNumber;
                LastSequence = edit.LastSequence ?? LastSequence;
                AppliedIndex = edit.AppliedIndex ?? AppliedIndex;
                foreach (var (level, key) in edit.CompactPointers)
                {
                    CompactPointers[level] = key;
                }

                install?.Invoke(next);
            }

            return next;
        }
    }

    /// <summary>Starts a new manifest holding a snapshot of the current state with <paramref name="edit"/> applied (used on open).</summary>
    public void StartNewManifest(VersionEdit edit, object stateLock) => LogAndApplyFresh(edit, stateLock);

    public void Dispose()
    {
        lock (_manifestLock)
        {
            _manifest?.Dispose();
            _manifest = null;
        }
    }

    private void LogAndApplyFresh(VersionEdit edit, object stateLock)
    {
        lock (_manifestLock)
        {
            _manifest?.Dispose();
            _manifest = null;
            LogAndApply(edit, stateLock);
        }
    }

    private void WriteNewManifest(Version next, VersionEdit edit)
    {
        ulong number = NewFileNumber();
        var snapshot = new VersionEdit
        {
            LogNumber = edit.LogNumber ?? LogNumber,
            NextFileNumber = NextFileNumber,
            LastSequence = edit.LastSequence ?? LastSequence,
            AppliedIndex = edit.AppliedIndex ?? AppliedIndex,
        };
        for (int level = 0; level < Version.NumLevels; level++)
        {
            byte[]? pointer = CompactPointers[level];
            foreach (var (l, key) in edit.CompactPointers)
            {
                if (l == level)
                {
                    pointer = key;
                }
            }

            if (pointer != null)
            {
                snapshot.CompactPointers.Add((level, pointer));
            }

            foreach (FileMetadata f in next.Files[level])
            {
                snapshot.NewFiles.Add((level, f));
            }
        }

        string path = FileNames.Join(_directory, FileNames.Manifest(number));
        var writer = new RecordWriter(_fs.Open(path, OpenMode.CreateTruncate));
        try
        {
            writer.Append(snapshot.Encode());
            writer.Sync();
            SetCurrent(number);
        }
        catch (IOException)
        {
            // Not deleted here: CURRENT may already name it. Once a later manifest is live,
            // obsolete-file collection removes it.
            writer.Dispose();
            throw;
        }

        _manifest = writer;
        ManifestNumber = number;
    }

    private void SetCurrent(ulong manifestNumber)
    {
        ulong tempNumber = NewFileNumber();
        string temp = FileNames.Join(_directory, FileNames.Temp(tempNumber));
        try
        {
            using (IStorageFile file = _fs.Open(temp, OpenMode.CreateTruncate))
            {
                file.Write(0, Encoding.ASCII.GetBytes(FileNames.Manifest(manifestNumber) + "\n"));
                file.Sync();
            }

            // The new manifest's directory entry and the rename become durable together.
            _fs.Rename(temp, FileNames.Join(_directory, FileNames.Current));
            _fs.SyncDirectory(_directory);
        }
        catch (IOException)
        {
            _fs.DeleteFile(temp);
            throw;
        }
    }
}
