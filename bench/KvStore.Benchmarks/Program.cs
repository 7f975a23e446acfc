using BenchmarkDotNet.Running;
using KvStore.Benchmarks;
using KvStore.Benchmarks.Storage;

// The benchmark executable: a verb picks the runner.
//   storage   side-by-side storage engines (db_bench workloads)
//   logstore  Raft log store implementations side by side
//   raft      Raft cluster throughput and latency
//   micro     BenchmarkDotNet micro-benchmarks (anything else goes there too)
if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
{
    Console.WriteLine(Usage.Text);
    return args.Length == 0 ? 1 : 0;
}

string verb = args[0];
string[] rest = args[1..];
switch (verb)
{
    case "storage":
        return StorageBench.Run(rest);
    case "logstore":
        return KvStore.Benchmarks.LogStore.LogStoreBench.Run(rest);
    case "raft":
        return KvStore.Benchmarks.Raft.RaftBench.Run(rest);
    case "micro":
        BenchmarkSwitcher.FromAssembly(typeof(Usage).Assembly).Run(rest);
        return 0;
    default:
        BenchmarkSwitcher.FromAssembly(typeof(Usage).Assembly).Run(args);
        return 0;
}
