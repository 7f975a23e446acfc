using KvStore.Storage.Lsm.Versions;
using Version = KvStore.Storage.Lsm.Versions.Version;

namespace KvStore.Storage.Lsm;

/// <summary>
/// One unit of compaction work: <see cref="Inputs"/> of <see cref="Level"/> merged with the
/// overlapping <see cref="NextInputs"/> of the level below into new tables there.
/// </summary>
internal sealed record Compaction(int Level, IReadOnlyList<FileMetadata> Inputs, IReadOnlyList<FileMetadata> NextInputs)
{
    /// <summary>A single file with nothing under it moves down by a manifest edit alone.</summary>
    public bool IsTrivialMove => Inputs.Count == 1 && NextInputs.Count == 0;

    public int OutputLevel => Level + 1;

    public long InputBytes => Inputs.Sum(f => f.Size) + NextInputs.Sum(f => f.Size);

    /// <summary>Size limit of <paramref name="level"/> (≥ 1): the base, times the multiplier per level below L1.</summary>
    public static long MaxBytesForLevel(LsmOptions options, int level)
    {
        double bytes = options.MaxBytesForLevelBase;
        for (int l = 1; l < level; l++)
        {
            bytes *= options.LevelMultiplier;
        }

        return (long)Math.Min(bytes, long.MaxValue / 2);
    }

    /// <summary>Highest compaction score of <paramref name="version"/> and its level; a score ≥ 1 needs compaction.</summary>
    public static (int Level, double Score) BestScore(Version version, LsmOptions options)
    {
        int bestLevel = 0;
        double best = (double)version.Files[0].Count / options.Level0CompactionTrigger;
        for (int level = 1; level < Version.NumLevels - 1; level++)
        {
            double score = (double)version.LevelBytes(level) / MaxBytesForLevel(options, level);
            if (score > best)
            {
                best = score;
                bestLevel = level;
            }
        }

        return (bestLevel, best);
    }

    /// <summary>The compaction the version most needs, or null if every level is within its limit.</summary>
    public static Compaction? Pick(Version version, byte[]?[] compactPointers, LsmOptions options)
    {
        var (level, score) = BestScore(version, options);
        if (score < 1)
        {
            return null;
        }

        List<FileMetadata> inputs;
        if (level == 0)
        {
            // All of L0: its files overlap, and leaving an older one behind would let it shadow newer data moved down.
            inputs = [.. version.Files[0]];
        }
        else
        {
            // The file that overlaps the fewest bytes one level down per byte of its own (RocksDB's
            // kMinOverlappingRatio): each compaction then rewrites as little of the next level as
            // possible, and a file overlapping nothing moves down without a rewrite. Candidates are
            // visited in round-robin order from LevelDB's compaction pointer and ties go to the
            // first, so with equal ratios every range still gets its turn.
            IReadOnlyList<FileMetadata> files = version.Files[level];
            byte[]? pointer = compactPointers[level];
            int start = 0;
            if (pointer != null)
            {
                while (start < files.Count && InternalKeyComparer.Compare(files[start].Largest, pointer) <= 0)
                {
                    start++;
                }

                if (start == files.Count)
                {
                    start = 0;
                }
            }

            FileMetadata chosen = files[start];
            double bestRatio = double.MaxValue;
            for (int i = 0; i < files.Count; i++)
            {
                FileMetadata f = files[(start + i) % files.Count];
                long overlap = 0;
                foreach (FileMetadata below in version.Overlapping(level + 1, f.SmallestUserKey, f.LargestUserKey))
                {
                    overlap += below.Size;
                }

                double ratio = (double)overlap / Math.Max(f.Size, 1);
                if (ratio < bestRatio)
                {
                    bestRatio = ratio;
                    chosen = f;
                }
            }

            inputs = [chosen];
        }

        return ForInputs(version, level, inputs);
    }

    /// <summary>A compaction of <paramref name="inputs"/> at <paramref name="level"/> with everything they overlap one level down.</summary>
    public static Compaction ForInputs(Version version, int level, List<FileMetadata> inputs)
    {
        byte[] smallest = inputs[0].SmallestUserKey.ToArray();
        byte[] largest = inputs[0].LargestUserKey.ToArray();
        foreach (FileMetadata f in inputs)
        {
            if (f.SmallestUserKey.SequenceCompareTo(smallest) < 0)
            {
                smallest = f.SmallestUserKey.ToArray();
            }

            if (f.LargestUserKey.SequenceCompareTo(largest) > 0)
            {
                largest = f.LargestUserKey.ToArray();
            }
        }

        return new Compaction(level, inputs, version.Overlapping(level + 1, smallest, largest));
    }
}
