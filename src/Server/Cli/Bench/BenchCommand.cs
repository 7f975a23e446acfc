using System.CommandLine;
using KvStore.Server.Cli.Client;

namespace KvStore.Server.Cli.Bench;

/// <summary>
/// `kvstore bench put|get|cas`: a closed-loop load generator against KvStore (native protocol
/// through the SDK) or etcd (its v3 gRPC API), printing throughput and latency percentiles.
/// Example: <c>kvstore bench put --clients 256 --conns 16 --duration 10 --target etcd --endpoints 127.0.0.1:23790</c>.
/// </summary>
internal static class BenchCommand
{
    private static readonly Option<string> Target = CreateTarget();
    private static readonly Option<int> Clients = new("--clients") { Description = "Concurrent clients, one request outstanding each.", DefaultValueFactory = _ => 1 };
    private static readonly Option<int> Connections = new("--conns") { Description = "Connections shared by the clients (default: min(clients, 16)).", DefaultValueFactory = _ => 0 };
    private static readonly Option<int> ValueSize = new("--value-size") { Description = "Value size in bytes.", DefaultValueFactory = _ => 256 };
    private static readonly Option<int> KeySpace = new("--key-space") { Description = "Number of distinct keys.", DefaultValueFactory = _ => 10_000 };
    private static readonly Option<double> Duration = new("--duration") { Description = "Seconds to run (ignored with --total).", DefaultValueFactory = _ => 10 };
    private static readonly Option<long> Total = new("--total") { Description = "Stop after this many operations instead of after --duration." };
    private static readonly Option<bool> Serializable = new("--serializable") { Description = "get: serializable reads instead of linearizable." };
    private static readonly Option<bool> NoPreload = new("--no-preload") { Description = "get/cas: do not write the key space first." };

    public static Command Create()
    {
        var bench = new Command("bench", "Measure throughput and latency of put, get or cas against KvStore or etcd.");
        foreach (var workload in Enum.GetValues<BenchWorkload>())
        {
            string name = workload.ToString().ToLowerInvariant();
            var command = new Command(name, workload switch
            {
                BenchWorkload.Put => "Puts of --value-size bytes at random keys.",
                BenchWorkload.Get => "Reads of random preloaded keys (linearizable, or --serializable).",
                _ => "Compare-and-swap transactions on random keys.",
            });
            ClientVerb.AddSharedOptions(command);
            foreach (Option option in new Option[] { Target, Clients, Connections, ValueSize, KeySpace, Duration, Total, Serializable, NoPreload })
            {
                command.Options.Add(option);
            }

            command.SetAction((parse, ct) => RunAsync(parse, workload, ct));
            bench.Subcommands.Add(command);
        }

        bench.Subcommands.Add(LeaseBenchCommand.Create());
        return bench;
    }

    /// <summary>The run the command line describes.</summary>
    public static BenchSettings Settings(ParseResult parse, BenchWorkload workload)
    {
        int clients = parse.GetValue(Clients);
        int connections = parse.GetValue(Connections);
        if (clients < 1 || connections < 0 || parse.GetValue(ValueSize) < 0 || parse.GetValue(KeySpace) < 1 || parse.GetValue(Total) < 0 || !(parse.GetValue(Duration) > 0))
        {
            throw new CliUsageException("--clients, --key-space and --duration must be positive; --conns, --value-size and --total must not be negative");
        }

        return new BenchSettings
        {
            Target = parse.GetValue(Target)!,
            Endpoints = ClientVerb.ResolveEndpoints(parse.GetValue(ClientVerb.Endpoints), Environment.GetEnvironmentVariable(ClientVerb.EndpointsVariable)),
            Workload = workload,
            Clients = clients,
            Connections = Math.Min(clients, connections == 0 ? 16 : connections),
            ValueSize = parse.GetValue(ValueSize),
            KeySpace = parse.GetValue(KeySpace),
            Duration = TimeSpan.FromSeconds(parse.GetValue(Duration)),
            Total = parse.GetValue(Total),
            Serializable = parse.GetValue(Serializable),
        };
    }

    private static async Task<int> RunAsync(ParseResult parse, BenchWorkload workload, CancellationToken cancellationToken)
    {
        string verb = "bench " + workload.ToString().ToLowerInvariant();
        try
        {
            var settings = Settings(parse, workload);
            await using IBenchDriver driver = settings.Target == "etcd" ? new EtcdBenchDriver(settings) : new KvStoreBenchDriver(settings);
            var runner = new BenchRunner(settings, driver, Console.Error);
            if (workload != BenchWorkload.Put && !parse.GetValue(NoPreload))
            {
                Console.Error.WriteLine($"preloading {settings.KeySpace} keys...");
                await runner.PreloadAsync(cancellationToken).ConfigureAwait(false);
            }

            var report = await runner.RunAsync(cancellationToken).ConfigureAwait(false);
            Console.Out.WriteLine(parse.GetValue(ClientVerb.Output) == "json" ? report.ToJson() : report.ToText());
            return report.Operations == 0 && report.Errors > 0 ? ClientVerb.Fail(verb, $"every request failed: {report.FirstError}", 1) : 0;
        }
        catch (Exception ex) when (ex is CliUsageException or ArgumentException)
        {
            return ClientVerb.Fail(verb, ex.Message, 2);
        }
        catch (Exception ex) when (ex is KvStore.Client.KvStoreException || EtcdBenchDriver.IsServiceError(ex))
        {
            return ClientVerb.Fail(verb, ex.Message, 1);
        }
    }

    private static Option<string> CreateTarget()
    {
        var option = new Option<string>("--target") { Description = "kvstore (native protocol) or etcd (v3 gRPC API).", DefaultValueFactory = _ => "kvstore" };
        option.AcceptOnlyFromAmong("kvstore", "etcd");
        return option;
    }
}
