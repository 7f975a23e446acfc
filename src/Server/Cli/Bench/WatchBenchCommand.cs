using System.CommandLine;
using KvStore.Server.Cli.Client;

namespace KvStore.Server.Cli.Bench;

/// <summary>
/// `kvstore bench watch`: watch fan-out — W watchers on K keys, an open-loop writer at R writes/s,
/// delivery latency percentiles — against KvStore or etcd (its gRPC Watch API). Example:
/// <c>kvstore bench watch --watchers 10000 --keys 1000 --rate 1000 --target etcd --endpoints 127.0.0.1:23790,...</c>.
/// </summary>
internal static class WatchBenchCommand
{
    private static readonly Option<string> Target = CreateTarget();
    private static readonly Option<int> Watchers = new("--watchers") { Description = "Watchers in all.", DefaultValueFactory = _ => 10_000 };
    private static readonly Option<int> Keys = new("--keys") { Description = "Distinct watched keys; watcher j watches key j mod KEYS, so a write reaches WATCHERS/KEYS watchers.", DefaultValueFactory = _ => 1_000 };
    private static readonly Option<int> Rate = new("--rate") { Description = "Writes per second (open loop).", DefaultValueFactory = _ => 1_000 };
    private static readonly Option<int> Streams = new("--streams") { Description = "Connections (KvStore) or gRPC Watch streams (etcd) the watchers share, spread over the endpoints.", DefaultValueFactory = _ => 16 };
    private static readonly Option<int> ValueSize = new("--value-size") { Description = "Value size in bytes (at least 8: the issuing timestamp).", DefaultValueFactory = _ => 64 };
    private static readonly Option<double> Warmup = new("--warmup") { Description = "Seconds of writes before measuring.", DefaultValueFactory = _ => 3 };
    private static readonly Option<double> Duration = new("--duration") { Description = "Seconds measured.", DefaultValueFactory = _ => 20 };

    public static Command Create()
    {
        var command = new Command("watch", "Watch fan-out: delivery latency of writes to many watchers.");
        ClientVerb.AddSharedOptions(command);
        foreach (Option option in new Option[] { Target, Watchers, Keys, Rate, Streams, ValueSize, Warmup, Duration })
        {
            command.Options.Add(option);
        }

        command.SetAction(RunAsync);
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        const string verb = "bench watch";
        try
        {
            var settings = new WatchBenchSettings
            {
                Target = parse.GetValue(Target)!,
                Endpoints = ClientVerb.ResolveEndpoints(parse.GetValue(ClientVerb.Endpoints), Environment.GetEnvironmentVariable(ClientVerb.EndpointsVariable)),
                Watchers = parse.GetValue(Watchers),
                Keys = parse.GetValue(Keys),
                Rate = parse.GetValue(Rate),
                Streams = parse.GetValue(Streams),
                ValueSize = parse.GetValue(ValueSize),
                Warmup = TimeSpan.FromSeconds(parse.GetValue(Warmup)),
                Duration = TimeSpan.FromSeconds(parse.GetValue(Duration)),
            };
            if (settings.Watchers < 1 || settings.Keys < 1 || settings.Keys > settings.Watchers || settings.Rate < 1 || settings.Streams < 1
                || !(settings.Duration > TimeSpan.Zero) || settings.Warmup < TimeSpan.Zero)
            {
                throw new CliUsageException("--watchers, --keys (at most --watchers), --rate, --streams and --duration must be positive; --warmup must not be negative");
            }

            await using IWatchBenchTarget target = settings.Target == "etcd" ? new EtcdWatchTarget(settings.Endpoints) : new KvStoreWatchTarget(settings.Endpoints);
            var report = await new WatchFanOutBench(settings, target, Console.Error).RunAsync(cancellationToken).ConfigureAwait(false);
            Console.Out.WriteLine(parse.GetValue(ClientVerb.Output) == "json" ? report.ToJson() : report.ToText());
            return report.Deliveries == 0 ? ClientVerb.Fail(verb, $"no event was delivered{(report.FirstError is null ? string.Empty : ": " + report.FirstError)}", 1) : 0;
        }
        catch (Exception ex) when (ex is CliUsageException or ArgumentException)
        {
            return ClientVerb.Fail(verb, ex.Message, 2);
        }
        catch (Exception ex) when (ex is KvStore.Client.KvStoreException or InvalidOperationException || EtcdBenchDriver.IsServiceError(ex))
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
