namespace KvStore.Storage.Lsm.Versions;

/// <summary>
/// Names of the files in a database directory: <c>NNNNNN.log</c> (WAL), <c>NNNNNN.sst</c>
/// (table), <c>MANIFEST-NNNNNN</c>, <c>CURRENT</c> (the live manifest's name and a newline),
/// and <c>NNNNNN.dbtmp</c> (CURRENT being replaced). Numbers share one counter.
/// </summary>
internal static class FileNames
{
    public const string Current = "CURRENT";

    public static string Log(ulong number) => $"{number:D6}.log";

    public static string Table(ulong number) => $"{number:D6}.sst";

    public static string Manifest(ulong number) => $"MANIFEST-{number:D6}";

    public static string Temp(ulong number) => $"{number:D6}.dbtmp";

    public static string Join(string directory, string name) => directory.EndsWith('/') ? directory + name : directory + "/" + name;

    public enum Kind
    {
        Unknown,
        Log,
        Table,
        Manifest,
        Current,
        Temp,
    }

    public static (Kind Kind, ulong Number) Parse(string name)
    {
        if (name == Current)
        {
            return (Kind.Current, 0);
        }

        if (name.StartsWith("MANIFEST-", StringComparison.Ordinal) && ulong.TryParse(name.AsSpan(9), out ulong m))
        {
            return (Kind.Manifest, m);
        }

        int dot = name.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0 && ulong.TryParse(name.AsSpan(0, dot), out ulong n))
        {
            return name[(dot + 1)..] switch
            {
                "log" => (Kind.Log, n),
                "sst" => (Kind.Table, n),
                "dbtmp" => (Kind.Temp, n),
                _ => (Kind.Unknown, 0),
            };
        }

        return (Kind.Unknown, 0);
    }
}
