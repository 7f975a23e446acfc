using System.CommandLine;
using KvStore.Server.Cli.Client;

namespace KvStore.Server.Cli.Bench;

/// <summary>
/// `kvstore bench lock` and `kvstore bench leases`: the coordination benchmarks of issue 5 §7,
/// against KvStore (native protocol) or etcd (v3lockpb.Lock and etcdserverpb.Lease over gRPC).
/// Examples: <c>kvstore bench lock --clients 16 --duration 20 --target etcd --endpoints 127.0.0.1:23790,...</c>;
/// <c>kvstore bench leases --leases 100000 --clients 10 --hold 60</c>.
/// </summary>
internal static class CoordinationBenchCommand
{
    private static readonly Option<string> Target = CreateTarget();
    private static readonly Option<int> Clients = new("--clients") { Description = "lock: contending clients; leases: clients keeping the leases alive.", DefaultValueFactory = _ => 16 };
    private static readonly Option<int> Connections = new("--conns") { Description = "lock: connections the clients share (default: one per client).", DefaultValueFactory = _ => 0 };
    private static readonly Option<double> Duration = new("--duration") { Description = "lock: seconds to run.", DefaultValueFactory = _ => 20 };
    private static readonly Option<int> Leases = new("--leases") { Description = "leases: how many leases to keep alive.", DefaultValueFactory = _ => 100_000 };
    private static readonly Option<int> Ttl = new("--ttl") { Description = "leases: lease TTL in seconds.", DefaultValueFactory = _ => 10 };
    private static readonly Option<double> Hold = new("--hold") { Description = "leases: seconds to keep them alive after granting.", DefaultValueFactory = _ => 60 };

    /// <summary>Adds the coordination workloads to `kvstore bench`.</summary>
    public static void AddTo(Command bench)
    {
        var lockCommand = new Command("lock", "Lock acquire/release cycles per second and hand-off latency, clients contending for one lock.");
        var leaseCommand = new Command("leases", "Keep many leases alive through a few clients and count the ones lost.");
        foreach (Command command in new[] { lockCommand, leaseCommand })
        {
            ClientVerb.AddSharedOptions(command);
            command.Options.Add(Target);
            command.Options.Add(Clients);
        }

        lockCommand.Options.Add(Connections);
        lockCommand.Options.Add(Duration);
        leaseCommand.Options.Add(Leases);
        leaseCommand.Options.Add(Ttl);
        leaseCommand.Options.Add(Hold);
        lockCommand.SetAction((parse, ct) => RunAsync("bench lock", parse, async (driver, target, clients) =>
        {
            if (!(parse.GetValue(Duration) > 0) || parse.GetValue(Connections) < 0)
            {
                throw new CliUsageException("--duration must be positive and --conns must not be negative");
            }

            int connections = parse.GetValue(Connections) is > 0 and var c ? Math.Min(c, clients) : clients;
            var bench = new LockBench(driver(connections), clients, connections, TimeSpan.FromSeconds(parse.GetValue(Duration)), Console.Error);
            LockBenchReport report = await bench.RunAsync(ct).ConfigureAwait(false);
            Console.Out.WriteLine(report.ToText(target));
            return report.Cycles == 0 ? 1 : 0;
        }));
        leaseCommand.SetAction((parse, ct) => RunAsync("bench leases", parse, async (driver, target, clients) =>
        {
            if (parse.GetValue(Leases) < 1 || parse.GetValue(Ttl) < 1 || !(parse.GetValue(Hold) >= 0))
            {
                throw new CliUsageException("--leases and --ttl must be positive and --hold must not be negative");
            }

            var bench = new LeaseBench(driver(clients), parse.GetValue(Leases), clients, parse.GetValue(Ttl), TimeSpan.FromSeconds(parse.GetValue(Hold)), Console.Error);
            LeaseBenchReport report = await bench.RunAsync(ct).ConfigureAwait(false);
            Console.Out.WriteLine(report.ToText(target));
            return report.ReportedLost + report.MissingAtEnd == 0 ? 0 : 1;
        }));
        bench.Subcommands.Add(lockCommand);
        bench.Subcommands.Add(leaseCommand);
    }

    private static async Task<int> RunAsync(string verb, ParseResult parse, Func<Func<int, ICoordinationBenchDriver>, string, int, Task<int>> run)
    {
        int clients = parse.GetValue(Clients);
        if (clients < 1)
        {
            return ClientVerb.Fail(verb, "--clients must be positive", 2);
        }

        string target = parse.GetValue(Target)!;
        IReadOnlyList<string> endpoints = ClientVerb.ResolveEndpoints(parse.GetValue(ClientVerb.Endpoints), Environment.GetEnvironmentVariable(ClientVerb.EndpointsVariable));
        ICoordinationBenchDriver? created = null;
        try
        {
            return await run(
                connections => created = target == "etcd" ? new EtcdCoordinationDriver(endpoints, connections) : new KvStoreCoordinationDriver(endpoints, connections),
                target,
                clients).ConfigureAwait(false);
        }
        catch (CliUsageException ex)
        {
            return ClientVerb.Fail(verb, ex.Message, 2);
        }
        catch (Exception ex) when (ex is KvStore.Client.KvStoreException || EtcdBenchDriver.IsServiceError(ex) || ex is InvalidOperationException)
        {
            return ClientVerb.Fail(verb, ex.Message, 1);
        }
        finally
        {
            if (created is not null)
            {
                await created.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static Option<string> CreateTarget()
    {
        var option = new Option<string>("--target") { Description = "kvstore (native protocol) or etcd (v3 gRPC API).", DefaultValueFactory = _ => "kvstore" };
        option.AcceptOnlyFromAmong("kvstore", "etcd");
        return option;
    }
}
