using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using KvStore.Client;

namespace KvStore.Server.Cli.Client;

/// <summary>
/// `kvstore elect NAME VALUE [--ttl S | --lease ID]`: campaigns with VALUE, prints the leader key
/// and its revision once elected, and leads until interrupted (then resigns).
/// `kvstore elect NAME --listen`: prints the leader (key and value) now and after every change.
/// </summary>
internal static class ElectCommand
{
    private static readonly Argument<string> Name = new("name") { Description = "The election's name." };
    private static readonly Argument<string?> Value = new("value") { Description = "The candidate's value (campaign); omit with --listen.", Arity = ArgumentArity.ZeroOrOne };
    private static readonly Option<bool> Listen = new("--listen", "-l") { Description = "Observe the election: print each leader as it changes." };
    private static readonly Option<double> Ttl = new("--ttl") { Description = "TTL in seconds of the campaign's lease (granted and kept alive by this process).", DefaultValueFactory = _ => 10 };
    private static readonly Option<long> Lease = new("--lease") { Description = "Campaign with this existing lease (decimal or 0x hex).", CustomParser = LeaseId.Parse };

    public static Command Create()
    {
        var command = ClientVerb.Create("elect", "Campaign in an election and lead until interrupted, or observe it with --listen.", RunAsync);
        command.Arguments.Add(Name);
        command.Arguments.Add(Value);
        command.Options.Add(Listen);
        command.Options.Add(Ttl);
        command.Options.Add(Lease);
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, KvStoreClient client, CliOutput output, CancellationToken cancellationToken)
    {
        using var signal = new ShutdownSignal();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, signal.Token);
        string name = parse.GetValue(Name)!;
        string? value = parse.GetValue(Value);
        if (parse.GetValue(Listen))
        {
            if (value is not null)
            {
                throw new CliUsageException("--listen observes; it takes no VALUE");
            }

            return await ListenAsync(client, output, name, stop.Token).ConfigureAwait(false);
        }

        if (value is null)
        {
            throw new CliUsageException("a campaign needs a VALUE (or use --listen to observe)");
        }

        try
        {
            long lease = parse.GetValue(Lease);
            if (lease != 0)
            {
                ElectionLeaderKey leader = await client.Elections.CampaignAsync(name, value, lease, null, stop.Token).ConfigureAwait(false);
                Print(output, leader);
                await HoldAsync(stop.Token, CancellationToken.None).ConfigureAwait(false);
                await client.Elections.ResignAsync(leader, CancellationToken.None).ConfigureAwait(false);
                return 0;
            }

            await using ElectionLeadership leadership = await client.Elections.CampaignAsync(name, value, TimeSpan.FromSeconds(parse.GetValue(Ttl)), null, stop.Token).ConfigureAwait(false);
            Print(output, leadership.Leader);
            return await HoldAsync(stop.Token, leadership.Lost).ConfigureAwait(false)
                ? ClientVerb.Fail("elect", $"lost the leadership of {name}: lease {leadership.Leader.Lease:x16} ended", 1)
                : 0;
        }
        catch (OperationCanceledException) when (signal.Token.IsCancellationRequested)
        {
            return ClientVerb.Fail("elect", "interrupted while campaigning", 130);
        }
    }

    /// <summary>Waits for an interrupt; true if <paramref name="lost"/> fired first.</summary>
    private static async Task<bool> HoldAsync(CancellationToken stop, CancellationToken lost)
    {
        using var holding = CancellationTokenSource.CreateLinkedTokenSource(stop, lost);
        try
        {
            await Task.Delay(Timeout.Infinite, holding.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Interrupted or lost.
        }

        return lost.IsCancellationRequested && !stop.IsCancellationRequested;
    }

    private static async Task<int> ListenAsync(KvStoreClient client, CliOutput output, string name, CancellationToken stop)
    {
        try
        {
            await foreach (LeaderObservation observation in client.Elections.ObserveAsync(name, stop).ConfigureAwait(false))
            {
                KvPair? leader = observation.Leader;
                if (output.Json)
                {
                    Console.Out.WriteLine(JsonSerializer.Serialize(new { key = leader?.KeyString, value = leader?.ValueString, rev = leader?.CreateRevision ?? 0, revision = observation.Revision }));
                }
                else
                {
                    Console.Out.WriteLine(leader is null ? "(no leader)" : $"{leader.KeyString} {leader.ValueString}");
                }

                Console.Out.Flush();
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Interrupted: a normal end of listening.
        }

        return 0;
    }

    private static void Print(CliOutput output, ElectionLeaderKey leader)
    {
        if (output.Json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(new { name = leader.NameText, key = leader.KeyText, rev = leader.Revision, lease = leader.Lease.ToString("x16", CultureInfo.InvariantCulture) }));
        }
        else
        {
            Console.Out.WriteLine(leader.KeyText);
            Console.Out.WriteLine(leader.Revision.ToString(CultureInfo.InvariantCulture));
        }

        Console.Out.Flush();
    }
}
