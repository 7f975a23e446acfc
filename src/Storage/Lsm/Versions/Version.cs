namespace KvStore.Storage.Lsm.Versions;

/// <summary>
/// An immutable set of live tables per level. Level 0 holds flushed memtables, which may
/// overlap, ordered oldest to newest by file number; every deeper level holds disjoint files
/// ordered by key, and no user key spans two files of one level (compaction only cuts output
/// files between user keys), so a point read consults one file per level.
/// </summary>
internal sealed class Version
{
    public const int NumLevels = 7;

    public static Version Empty { get; } = new(Enumerable.Range(0, NumLevels).Select(_ => (IReadOnlyList<FileMetadata>)[]).ToArray());

    private Version(IReadOnlyList<FileMetadata>[] files) => Files = files;

    public IReadOnlyList<FileMetadata>[] Files { get; }

    public long LevelBytes(int level) => Files[level].Sum(f => f.Size);

    public IEnumerable<FileMetadata> AllFiles() => Files.SelectMany(f => f);

    /// <summary>Files of <paramref name="level"/> touching the user-key range [begin, end].</summary>
    public List<FileMetadata> Overlapping(int level, ReadOnlySpan<byte> begin, ReadOnlySpan<byte> end)
    {
        var result = new List<FileMetadata>();
        foreach (FileMetadata f in Files[level])
        {
            if (f.LargestUserKey.SequenceCompareTo(begin) >= 0 && f.SmallestUserKey.SequenceCompareTo(end) <= 0)
            {
                result.Add(f);
            }
        }

        return result;
    }

    /// <summary>For level ≥ 1: index of the first file whose largest key ≥ <paramref name="internalKey"/> (Count if none).</summary>
    public int FindFile(int level, ReadOnlySpan<byte> internalKey)
    {
        IReadOnlyList<FileMetadata> files = Files[level];
        int lo = 0, hi = files.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (InternalKeyComparer.Compare(files[mid].Largest, internalKey) < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>True if no level below <paramref name="level"/> can hold <paramref name="userKey"/>: a tombstone for it there may be dropped.</summary>
    public bool IsBaseLevelForKey(int level, ReadOnlySpan<byte> userKey)
    {
        for (int l = Math.Max(level + 1, 1); l < NumLevels; l++)
        {
            // Deeper levels are disjoint and sorted: one binary search per level.
            IReadOnlyList<FileMetadata> files = Files[l];
            int lo = 0, hi = files.Count;
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (files[mid].LargestUserKey.SequenceCompareTo(userKey) < 0)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }

            if (lo < files.Count && files[lo].SmallestUserKey.SequenceCompareTo(userKey) <= 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>This version with <paramref name="edit"/> applied. Checks that deeper levels stay disjoint (data-protecting, so always on).</summary>
    public Version Apply(VersionEdit edit)
    {
        var files = new IReadOnlyList<FileMetadata>[NumLevels];
        for (int level = 0; level < NumLevels; level++)
        {
            var list = new List<FileMetadata>(Files[level]);
            foreach (var (l, number) in edit.DeletedFiles)
            {
                if (l == level)
                {
                    list.RemoveAll(f => f.Number == number);
                }
            }

            foreach (var (l, f) in edit.NewFiles)
            {
                if (l == level)
                {
                    list.RemoveAll(x => x.Number == f.Number);
                    list.Add(f);
                }
            }

            if (level == 0)
            {
                list.Sort((a, b) => a.Number.CompareTo(b.Number));
            }
            else
            {
                list.Sort((a, b) => InternalKeyComparer.Compare(a.Smallest, b.Smallest));
                for (int i = 1; i < list.Count; i++)
                {
                    if (list[i - 1].LargestUserKey.SequenceCompareTo(list[i].SmallestUserKey) >= 0)
                    {
                        throw new InvalidOperationException(
                            $"version invariant violated: tables {list[i - 1].Number} and {list[i].Number} overlap in level {level}");
                    }
                }
            }

            files[level] = list;
        }

        return new Version(files);
    }
}
