using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using KvStore.Client;
using KvStore.Server.Cli.Client;

namespace KvStore.Server.Cli.Bench;

/// <summary>
/// `kvstore bench leases --leases N --clients C --ttl S --duration D`: C SDK clients grant N
/// leases between them and keep them all alive with their background keep-alive loops for D
/// seconds; the result is how many leases were lost (issue 5's target: none at 100,000), the
/// grant rate, and whether the cluster still lists every lease at the end. The leases are left
/// to expire afterwards (--revoke revokes them).
/// </summary>
internal static class LeaseBenchCommand
{
    private static readonly Option<int> Leases = new("--leases") { Description = "Leases to grant and keep alive.", DefaultValueFactory = _ => 100_000 };
    private static readonly Option<int> Clients = new("--clients") { Description = "SDK clients sharing the leases (one keep-alive loop each).", DefaultValueFactory = _ => 10 };
    private static readonly Option<long> Ttl = new("--ttl") { Description = "Lease TTL in seconds.", DefaultValueFactory = _ => 30 };
    private static readonly Option<double> Duration = new("--duration") { Description = "Seconds to keep the leases alive after the last grant.", DefaultValueFactory = _ => 60 };
    private static readonly Option<int> GrantConcurrency = new("--grant-concurrency") { Description = "Grants in flight per client.", DefaultValueFactory = _ => 64 };
    private static readonly Option<bool> Revoke = new("--revoke") { Description = "Revoke every lease at the end instead of letting them expire." };

    public static Command Create()
    {
        var command = new Command("leases", "Keep many leases alive from several clients; count the leases lost.");
        ClientVerb.AddSharedOptions(command);
        foreach (Option option in new Option[] { Leases, Clients, Ttl, Duration, GrantConcurrency, Revoke })
        {
            command.Options.Add(option);
        }

        command.SetAction((parse, ct) => RunAsync(parse, ct));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        const string verb = "bench leases";
        int leaseCount = parse.GetValue(Leases);
        int clientCount = parse.GetValue(Clients);
        long ttl = parse.GetValue(Ttl);
        double duration = parse.GetValue(Duration);
        int concurrency = parse.GetValue(GrantConcurrency);
        if (leaseCount < 1 || clientCount < 1 || ttl < 1 || !(duration > 0) || concurrency < 1)
        {
            return ClientVerb.Fail(verb, "--leases, --clients, --ttl, --duration and --grant-concurrency must be positive", 2);
        }

        var clients = new List<KvStoreClient>();
        int lost = 0;
        try
        {
            for (int c = 0; c < clientCount; c++)
            {
                KvStoreClientOptions options = ClientVerb.ClientOptions(parse);
                options.ClientName = $"kvstore-bench-leases-{c}";
                var client = new KvStoreClient(options);
                client.Leases.LeaseLost += (_, e) => Interlocked.Increment(ref lost);
                clients.Add(client);
            }

            Console.Error.WriteLine($"granting {leaseCount} leases (TTL {ttl}s) from {clientCount} clients...");
            var granting = Stopwatch.StartNew();
            List<Lease>[] granted = await Task.WhenAll(clients.Select((client, c) =>
                GrantShareAsync(client, Share(leaseCount, clientCount, c), TimeSpan.FromSeconds(ttl), concurrency, cancellationToken))).ConfigureAwait(false);
            granting.Stop();
            Console.Error.WriteLine($"granted in {granting.Elapsed.TotalSeconds:0.0} s; keeping them alive for {duration} s...");

            await Task.Delay(TimeSpan.FromSeconds(duration), cancellationToken).ConfigureAwait(false);
            int lostDuringRun = Volatile.Read(ref lost);
            IReadOnlyList<long> listed = await clients[0].Leases.ListAsync(cancellationToken).ConfigureAwait(false);
            var live = listed.ToHashSet();
            int missing = granted.Sum(share => share.Count(l => !live.Contains(l.Id)));

            var report = new
            {
                leases = leaseCount,
                clients = clientCount,
                ttl_seconds = ttl,
                duration_seconds = duration,
                grants_per_second = Math.Round(leaseCount / granting.Elapsed.TotalSeconds),
                lost = lostDuringRun,
                missing_at_end = missing,
            };
            Console.Out.WriteLine(parse.GetValue(ClientVerb.Output) == "json"
                ? JsonSerializer.Serialize(report)
                : string.Create(CultureInfo.InvariantCulture, $"leases {leaseCount} kept alive by {clientCount} clients for {duration} s (TTL {ttl} s): lost {lostDuringRun}, missing at the end {missing}; grants {report.grants_per_second}/s"));

            if (parse.GetValue(Revoke))
            {
                Console.Error.WriteLine("revoking...");
                await Task.WhenAll(clients.Zip(granted).Select(p => RevokeShareAsync(p.First, p.Second, concurrency, cancellationToken))).ConfigureAwait(false);
            }

            return lostDuringRun == 0 && missing == 0 ? 0 : 1;
        }
        catch (KvStoreException ex)
        {
            return ClientVerb.Fail(verb, ex.Message, 1);
        }
        finally
        {
            foreach (KvStoreClient client in clients)
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static int Share(int total, int parts, int index) => (total / parts) + (index < total % parts ? 1 : 0);

    private static async Task<List<Lease>> GrantShareAsync(KvStoreClient client, int count, TimeSpan ttl, int concurrency, CancellationToken cancellationToken)
    {
        var leases = new List<Lease>(count);
        int next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) < count)
            {
                Lease lease = await client.Leases.GrantAsync(ttl, cancellationToken: cancellationToken).ConfigureAwait(false);
                lock (leases)
                {
                    leases.Add(lease);
                }
            }
        })).ConfigureAwait(false);
        return leases;
    }

    private static async Task RevokeShareAsync(KvStoreClient client, List<Lease> leases, int concurrency, CancellationToken cancellationToken)
    {
        int next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < leases.Count)
            {
                await leases[i].RevokeAsync(cancellationToken).ConfigureAwait(false);
            }
        })).ConfigureAwait(false);
    }
}
