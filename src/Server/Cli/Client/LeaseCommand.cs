using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using KvStore.Client;

namespace KvStore.Server.Cli.Client;

/// <summary>
/// `kvstore lease grant TTL | revoke ID | keep-alive ID | ttl ID [--keys] | list`. Ids print in
/// decimal and are read in decimal or 0x hex. keep-alive renews until interrupted (the lease is
/// then left to expire, not revoked) and fails with exit 1 if the lease is lost.
/// </summary>
internal static class LeaseCommand
{
    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static readonly Argument<long> Ttl = new("ttl") { Description = "TTL in seconds (at least the server's minimum, 3 s by default)." };
    private static readonly Option<long> GrantId = new("--id") { Description = "Ask for this lease id (decimal or 0x hex); default: the server chooses.", CustomParser = LeaseId.Parse };
    private static readonly Argument<long> Id = new("id") { Description = "Lease id (decimal or 0x hex).", CustomParser = LeaseId.Parse };
    private static readonly Option<bool> Keys = new("--keys") { Description = "Also print the keys attached to the lease." };

    public static Command Create()
    {
        var lease = new Command("lease", "Grant, revoke, renew and inspect leases.");

        var grant = ClientVerb.Create("grant", "lease grant", "Grant a lease; print its id.", async (parse, client, output, ct) =>
        {
            long ttl = parse.GetValue(Ttl);
            if (ttl <= 0)
            {
                throw new CliUsageException($"the TTL must be a positive number of seconds, not {ttl}");
            }

            Lease granted = await client.Leases.GrantAsync(TimeSpan.FromSeconds(ttl), parse.GetValue(GrantId), keepAlive: false, ct).ConfigureAwait(false);
            Print(output, $"lease {granted.Id} granted with TTL {Seconds(granted.Ttl)}s", new { id = granted.Id, ttl = (long)granted.Ttl.TotalSeconds });
            return 0;
        });
        grant.Arguments.Add(Ttl);
        grant.Options.Add(GrantId);
        lease.Subcommands.Add(grant);

        var revoke = ClientVerb.Create("revoke", "lease revoke", "Revoke a lease: its keys are deleted.", async (parse, client, output, ct) =>
        {
            long id = parse.GetValue(Id);
            await client.Leases.RevokeAsync(id, ct).ConfigureAwait(false);
            Print(output, $"lease {id} revoked", new { id, revoked = true });
            return 0;
        });
        revoke.Arguments.Add(Id);
        lease.Subcommands.Add(revoke);

        var keepAlive = ClientVerb.Create("keep-alive", "lease keep-alive", "Renew a lease until interrupted or lost.", KeepAliveAsync);
        keepAlive.Arguments.Add(Id);
        lease.Subcommands.Add(keepAlive);

        var ttl = ClientVerb.Create("ttl", "lease ttl", "Print a lease's remaining and granted TTL.", async (parse, client, output, ct) =>
        {
            long id = parse.GetValue(Id);
            bool withKeys = parse.GetValue(Keys);
            LeaseTimeToLive info = await client.Leases.TimeToLiveAsync(id, withKeys, ct).ConfigureAwait(false);
            string[] keys = info.Keys.Select(k => Encoding.UTF8.GetString(k.Span)).ToArray();
            string text = !info.Exists
                ? $"lease {id} already expired or revoked"
                : $"lease {id} granted with TTL {Seconds(info.GrantedTtl)}s, remaining {Seconds(info.Remaining)}s"
                  + (withKeys ? $", attached keys [{string.Join(' ', keys)}]" : string.Empty);
            Print(output, text, new
            {
                id,
                ttl = info.Exists ? (long)info.Remaining.TotalSeconds : -1,
                granted_ttl = (long)info.GrantedTtl.TotalSeconds,
                keys = withKeys ? keys : null,
            });
            return 0;
        });
        ttl.Arguments.Add(Id);
        ttl.Options.Add(Keys);
        lease.Subcommands.Add(ttl);

        lease.Subcommands.Add(ClientVerb.Create("list", "lease list", "List the live leases.", async (_, client, output, ct) =>
        {
            IReadOnlyList<long> ids = await client.Leases.ListAsync(ct).ConfigureAwait(false);
            var text = new StringBuilder($"found {ids.Count} leases");
            foreach (long id in ids)
            {
                text.Append('\n').Append(id.ToString(CultureInfo.InvariantCulture));
            }

            Print(output, text.ToString(), new { leases = ids });
            return 0;
        }));
        return lease;
    }

    private static async Task<int> KeepAliveAsync(ParseResult parse, KvStoreClient client, CliOutput output, CancellationToken cancellationToken)
    {
        long id = parse.GetValue(Id);

        // Not disposed on the way out: an interrupted keep-alive leaves the lease to expire, as etcdctl does.
        Lease lease = await client.Leases.KeepAliveAsync(id, cancellationToken).ConfigureAwait(false);
        Print(output, $"lease {id} kept alive with TTL {Seconds(lease.Ttl)}s", new { id, ttl = (long)lease.Ttl.TotalSeconds });
        using var until = CancellationTokenSource.CreateLinkedTokenSource(lease.Lost, cancellationToken);
        try
        {
            await Task.Delay(Timeout.Infinite, until.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (lease.IsLost)
        {
            return ClientVerb.Fail("lease keep-alive", lease.LossReason == LeaseLossReason.Gone
                ? $"lease {id} expired or was revoked"
                : $"lease {id} could not be renewed within its TTL", 1);
        }

        return 0;
    }

    private static void Print(CliOutput output, string text, object json) =>
        Console.Out.WriteLine(output.Json ? JsonSerializer.Serialize(json, JsonOptions) : text);

    private static string Seconds(TimeSpan span) => ((long)span.TotalSeconds).ToString(CultureInfo.InvariantCulture);
}
