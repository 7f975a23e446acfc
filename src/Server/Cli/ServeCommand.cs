using System.CommandLine;
using System.Text.Json;
using KvStore.Server.FaultInjection;
using KvStore.Server.Node;
using KvStore.Storage.IO;
using Microsoft.Extensions.Logging;

namespace KvStore.Server.Cli;

/// <summary>
/// `kvstore serve`: runs one node until SIGINT/SIGTERM (or until its `--parent-pid` is gone).
/// With no flags: a one-node cluster named n1 in ./kvstore-data on 127.0.0.1:2379 (clients) and
/// 127.0.0.1:2380 (peers). Flags override the `--config` JSON file, whose keys are the flag names
/// without dashes: {"name": "n1", "data-dir": "...", "client-url": "...", "peer-url": "...",
/// "listen-peer-url": "...", "initial-cluster": "n1=HOST:PORT,...", "initial-cluster-state": "new", "cluster-token": "...",
/// "snapshot-every-entries": 100000, "compaction-retain-entries": 1000}.
/// </summary>
public static class ServeCommand
{
    private static readonly Option<string?> Name = new("--name") { Description = "Member name (the member id is derived from it). Default n1." };
    private static readonly Option<string?> DataDir = new("--data-dir") { Description = "Data directory. Default ./kvstore-data." };
    private static readonly Option<string?> ClientUrl = new("--client-url") { Description = "HOST:PORT for clients. Default 127.0.0.1:2379." };
    private static readonly Option<string?> PeerUrl = new("--peer-url") { Description = "HOST:PORT for peers. Default 127.0.0.1:2380." };
    private static readonly Option<string?> ListenPeerUrl = new("--listen-peer-url") { Description = "HOST:PORT to bind for peers when it is not the advertised --peer-url (behind a NAT or a proxy). Default: --peer-url." };
    private static readonly Option<string?> InitialCluster = new("--initial-cluster") { Description = "name=HOST:PORT,... peer URLs of the initial members. Default: this node alone." };
    private static readonly Option<string?> InitialClusterState = new("--initial-cluster-state") { Description = "'new' (bootstrap) or 'existing' (join after `member add`). Default new." };
    private static readonly Option<string?> ClusterToken = new("--cluster-token") { Description = "Peers with another token are refused. Default kvstore." };
    private static readonly Option<long?> SnapshotEvery = new("--snapshot-every-entries") { Description = "Snapshot and compact the Raft log every N applied entries. Default 100000." };
    private static readonly Option<long?> RetainEntries = new("--compaction-retain-entries") { Description = "Log entries kept behind a snapshot for lagging followers. Default 1000." };
    private static readonly Option<FileInfo?> Config = new("--config") { Description = "JSON file with the same keys as the flags (without dashes)." };
    private static readonly Option<int?> ParentPid = new("--parent-pid") { Description = "Exit when this process is gone (used by `cluster up`)." };
    private static readonly Option<string?> LogLevelOption = new("--log-level") { Description = "trace|debug|information|warning|error. Default information." };

    // Test-only switches of the fault-injection harness (docs/fault-injection.md); never in a config file.
    private static readonly Option<DirectoryInfo?> FaultInjectionDir = new("--fault-injection-dir") { Description = "TEST ONLY: let the fault-injection harness skew this node's clock through DIR/clock. Never in production." };
    private static readonly Option<bool> FaultLoseUnsyncedWrites = new("--fault-lose-unsynced-writes") { Description = "TEST ONLY (needs --fault-injection-dir): keep unsynced writes in process memory, so a kill loses them as a power cut would." };

    public static Command Create()
    {
        var command = new Command("serve", "Run a KvStore node.");
        foreach (Option option in new Option[] { Name, DataDir, ClientUrl, PeerUrl, ListenPeerUrl, InitialCluster, InitialClusterState, ClusterToken, SnapshotEvery, RetainEntries, Config, ParentPid, LogLevelOption, FaultInjectionDir, FaultLoseUnsyncedWrites })
        {
            command.Options.Add(option);
        }

        command.SetAction((parseResult, _) => RunAsync(parseResult));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parseResult)
    {
        KvNodeOptions options;
        LogLevel level;
        try
        {
            Dictionary<string, JsonElement> config = ReadConfig(parseResult.GetValue(Config));
            string? Text(Option<string?> option, string key) => parseResult.GetValue(option) ?? (config.TryGetValue(key, out JsonElement e) ? e.ToString() : null);
            options = new KvNodeOptions
            {
                Name = Text(Name, "name") ?? "n1",
                DataDirectory = Text(DataDir, "data-dir") ?? "kvstore-data",
                ClientUrl = Text(ClientUrl, "client-url") ?? "127.0.0.1:2379",
                PeerUrl = Text(PeerUrl, "peer-url") ?? "127.0.0.1:2380",
                ListenPeerUrl = Text(ListenPeerUrl, "listen-peer-url"),
                InitialCluster = ParseInitialCluster(Text(InitialCluster, "initial-cluster")),
                InitialClusterState = Text(InitialClusterState, "initial-cluster-state") ?? "new",
                ClusterToken = Text(ClusterToken, "cluster-token") ?? "kvstore",
                SnapshotEveryEntries = parseResult.GetValue(SnapshotEvery)
                    ?? (config.TryGetValue("snapshot-every-entries", out JsonElement s) ? s.GetInt64() : 100_000),
                CompactionRetainEntries = parseResult.GetValue(RetainEntries)
                    ?? (config.TryGetValue("compaction-retain-entries", out JsonElement r) ? r.GetInt64() : 1_000),
            };
            if (options.InitialClusterState is not ("new" or "existing"))
            {
                throw new FormatException($"--initial-cluster-state must be 'new' or 'existing', not '{options.InitialClusterState}'");
            }

            level = Enum.Parse<LogLevel>(parseResult.GetValue(LogLevelOption) ?? "information", ignoreCase: true);
            if (parseResult.GetValue(FaultLoseUnsyncedWrites) && parseResult.GetValue(FaultInjectionDir) is null)
            {
                throw new ArgumentException("--fault-lose-unsynced-writes is a fault-injection switch: it needs --fault-injection-dir");
            }
        }
        catch (Exception ex) when (ex is FormatException or JsonException or IOException or ArgumentException or InvalidOperationException)
        {
            Console.Error.WriteLine($"kvstore serve: {ex.Message}");
            return 2;
        }

        using var signal = new ShutdownSignal();
        using var loggers = new StderrLoggerFactory(level);
        Task? parentGone = null;
        if (parseResult.GetValue(ParentPid) is int parent)
        {
            parentGone = ParentProcessWatch.WaitForExitAsync(parent, signal.Token).ContinueWith(
                t =>
                {
                    if (t.IsCompletedSuccessfully)
                    {
                        loggers.CreateLogger("serve").LogWarning("parent process {Pid} is gone; stopping", parent);
                        signal.Trigger();
                    }
                },
                TaskScheduler.Default);
        }

        await using ClockControlFile? clockControl = StartFaultInjection(parseResult, loggers, ref options);
        KvNode node;
        try
        {
            node = await KvNode.StartAsync(options, loggers, signal.Token);
        }
        catch (OperationCanceledException)
        {
            return 0;
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"kvstore serve: cannot start node {options.Name}: {ex.Message}");
            return 1;
        }

        await using (node)
        {
            Console.Out.WriteLine($"kvstore serve: {node.Name} ready, clients {node.ClientEndPoint}, peers {node.PeerEndPoint}");
            try
            {
                Exception failure = await node.Failed.WaitAsync(signal.Token);
                Console.Error.WriteLine($"kvstore serve: node {node.Name} failed: {failure.Message}");
                return 1;
            }
            catch (OperationCanceledException)
            {
                loggers.CreateLogger("serve").LogInformation("stopping node {Name}", node.Name);
            }
        }

        return 0;
    }

    /// <summary>
    /// Under <c>--fault-injection-dir</c> only: a skewable clock driven by the directory's control file,
    /// and with <c>--fault-lose-unsynced-writes</c> storage that keeps unsynced writes in memory.
    /// </summary>
    private static ClockControlFile? StartFaultInjection(ParseResult parseResult, ILoggerFactory loggers, ref KvNodeOptions options)
    {
        if (parseResult.GetValue(FaultInjectionDir) is not { } directory)
        {
            return null;
        }

        ILogger logger = loggers.CreateLogger("fault-injection");
        directory.Create();
        var clock = new SkewedClock();
        options = options with { Clock = clock };
        if (parseResult.GetValue(FaultLoseUnsyncedWrites))
        {
            options = options with { FileSystem = new BufferUntilSyncFileSystem(PhysicalFileSystem.Instance) };
        }

        logger.LogWarning(
            "FAULT INJECTION ENABLED (test only): clock controlled by {Path}{Storage}",
            Path.Combine(directory.FullName, ClockControlFile.FileName),
            parseResult.GetValue(FaultLoseUnsyncedWrites) ? "; unsynced writes kept in memory (a kill loses them)" : "");
        return new ClockControlFile(directory.FullName, clock, logger);
    }

    /// <summary>Parses `n1=HOST:PORT,n2=HOST:PORT`.</summary>
    public static IReadOnlyDictionary<string, string> ParseInitialCluster(string? text)
    {
        var cluster = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(text))
        {
            return cluster;
        }

        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0 || eq == part.Length - 1)
            {
                throw new FormatException($"--initial-cluster entry '{part}' is not name=HOST:PORT");
            }

            string name = part[..eq];
            string url = part[(eq + 1)..];
            Peers.PeerAddress.Parse(url);
            if (!cluster.TryAdd(name, url))
            {
                throw new FormatException($"--initial-cluster names {name} twice");
            }
        }

        return cluster;
    }

    private static Dictionary<string, JsonElement> ReadConfig(FileInfo? file)
    {
        if (file is null)
        {
            return [];
        }

        using FileStream stream = file.OpenRead();
        using JsonDocument doc = JsonDocument.Parse(stream);
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"{file.FullName}: the configuration must be a JSON object");
        }

        var config = new Dictionary<string, JsonElement>(StringComparer.OrdinalIgnoreCase);
        foreach (JsonProperty p in doc.RootElement.EnumerateObject())
        {
            config[p.Name] = p.Value.Clone();
        }

        return config;
    }
}
