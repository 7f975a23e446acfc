namespace KvStore.Server.Cli.Bench;

/// <summary>One benchmark run as the command line describes it.</summary>
internal sealed record BenchSettings
{
    public required string Target { get; init; }

    public required IReadOnlyList<string> Endpoints { get; init; }

    public required BenchWorkload Workload { get; init; }

    /// <summary>Concurrent clients, each with one request outstanding at a time.</summary>
    public int Clients { get; init; } = 1;

    /// <summary>Connections (SDK clients or gRPC channels) the clients share, round-robin.</summary>
    public int Connections { get; init; } = 1;

    public int ValueSize { get; init; } = 256;

    /// <summary>Distinct keys the operations pick from at random.</summary>
    public int KeySpace { get; init; } = 10_000;

    public bool Serializable { get; init; }

    /// <summary>Stop after this long (when <see cref="Total"/> is 0).</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Stop after this many operations; 0 means run for <see cref="Duration"/>.</summary>
    public long Total { get; init; }

    public string KeyPrefix { get; init; } = "bench/";

    public byte[] Key(int index) => System.Text.Encoding.ASCII.GetBytes($"{KeyPrefix}{index:D8}");
}
