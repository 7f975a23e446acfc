using System.Globalization;

namespace KvStore.Benchmarks.Storage;

/// <summary>Command line of the <c>storage</c> verb.</summary>
public sealed record StorageBenchOptions(long Keys, IReadOnlyList<string> Engines, string? OutFile, string? Directory, bool Quick)
{
    public const long FullKeys = 1_000_000;
    public const long QuickKeys = 100_000;

    public const string Usage = """
        usage: storage [--quick] [--engines kvstore,rocksdb,zonetree,faster] [--keys N] [--out FILE] [--dir DIR]
          --quick        100,000 keys (default 1,000,000)
          --engines      comma-separated engines to run, in this order (default: all that are built)
          --keys N       number of keys; overrides --quick
          --out FILE     also write the result as Markdown to FILE
          --dir DIR      parent directory for the databases (default: a fresh directory under the temp dir)
        """;

    /// <summary>Parses the arguments; returns null and writes the reason to <paramref name="error"/> when they are wrong.</summary>
    public static StorageBenchOptions? Parse(string[] args, IReadOnlyList<string> defaultEngines, TextWriter error)
    {
        bool quick = false;
        long? keys = null;
        IReadOnlyList<string> engines = defaultEngines;
        string? outFile = null;
        string? directory = null;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string? Value()
            {
                if (i + 1 >= args.Length)
                {
                    error.WriteLine($"error: {arg} needs a value");
                    return null;
                }

                return args[++i];
            }

            switch (arg)
            {
                case "--quick":
                    quick = true;
                    break;
                case "--keys":
                    string? n = Value();
                    if (n is null || !long.TryParse(n.Replace("_", "", StringComparison.Ordinal), NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out long parsed) || parsed < 100 || parsed > int.MaxValue)
                    {
                        error.WriteLine($"error: --keys needs a whole number from 100 to {int.MaxValue}, got '{n}'");
                        return null;
                    }

                    keys = parsed;
                    break;
                case "--engines":
                    string? list = Value();
                    if (list is null)
                    {
                        return null;
                    }

                    engines = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    break;
                case "--out":
                    outFile = Value();
                    if (outFile is null)
                    {
                        return null;
                    }

                    break;
                case "--dir":
                    directory = Value();
                    if (directory is null)
                    {
                        return null;
                    }

                    break;
                default:
                    error.WriteLine($"error: unknown option '{arg}'");
                    error.WriteLine(Usage);
                    return null;
            }
        }

        return new StorageBenchOptions(keys ?? (quick ? QuickKeys : FullKeys), engines, outFile, directory, quick);
    }
}
