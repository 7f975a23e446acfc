namespace KvStore.Server.Cli.Bench;

/// <summary>Settings of `kvstore bench watch`.</summary>
internal sealed record WatchBenchSettings
{
    public required string Target { get; init; }

    public required IReadOnlyList<string> Endpoints { get; init; }

    public int Watchers { get; init; } = 10_000;

    public int Keys { get; init; } = 1_000;

    public int Rate { get; init; } = 1_000;

    public int Streams { get; init; } = 16;

    public int ValueSize { get; init; } = 64;

    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(3);

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(20);
}
