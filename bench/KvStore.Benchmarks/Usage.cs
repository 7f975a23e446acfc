namespace KvStore.Benchmarks;

/// <summary>The text printed by <c>--help</c>: every verb of the benchmark executable.</summary>
public static class Usage
{
    public const string Text = """
        KvStore benchmarks

        usage: dotnet run -c Release --project bench/KvStore.Benchmarks -- <verb> [options]

        verbs:
          storage   Storage engines side by side with db_bench workloads (fillseq, fillrandom,
                    overwrite, readrandom, readmissing, seekrandom + scan of 100).
                      --quick                 100,000 keys instead of 1,000,000 (under a minute)
                      --engines a,b,...       any of kvstore, rocksdb, zonetree, faster (default: all)
                      --keys N                number of keys (overrides --quick)
                      --out FILE              also write the result table (Markdown) to FILE
                      --dir DIR               where the databases live (default: a fresh temp dir)
          logstore  Raft log store implementations side by side (append+sync, recovery).
          raft      Raft cluster throughput and latency in simulation.
          micro     BenchmarkDotNet micro-benchmarks, e.g. `micro --filter *Table*`.
                    Any other first argument is passed to BenchmarkDotNet unchanged.

        Run `<verb> --help` for a verb's own options.
        """;
}
