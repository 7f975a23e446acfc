using BenchmarkDotNet.Running;

// Entry point of the benchmarks; the side-by-side runners are added as verbs here.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
