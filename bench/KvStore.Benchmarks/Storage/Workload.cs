namespace KvStore.Benchmarks.Storage;

/// <summary>The db_bench workloads, in the order they run against one engine.</summary>
public enum Workload
{
    /// <summary>Keys 0..N-1 in order into an empty database.</summary>
    FillSeq,
    /// <summary>Keys 0..N-1 in a random order into an empty database.</summary>
    FillRandom,
    /// <summary>Every key written again, in another random order, over the fillrandom database.</summary>
    Overwrite,
    /// <summary>Random lookups of existing keys (every one must be found with its last value).</summary>
    ReadRandom,
    /// <summary>Random lookups of absent keys that fall between existing ones.</summary>
    ReadMissing,
    /// <summary>Seek to a random existing key, then read the next 100 entries.</summary>
    SeekRandom,
}

public static class WorkloadNames
{
    public static string Of(Workload w) => w switch
    {
        Workload.FillSeq => "fillseq",
        Workload.FillRandom => "fillrandom",
        Workload.Overwrite => "overwrite",
        Workload.ReadRandom => "readrandom",
        Workload.ReadMissing => "readmissing",
        Workload.SeekRandom => "seekrandom+scan100",
        _ => throw new ArgumentOutOfRangeException(nameof(w), w, "unknown workload"),
    };
}
