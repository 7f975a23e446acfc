using System.CommandLine;
using System.Globalization;
using KvStore.Client;

namespace KvStore.Server.Cli.Client;

/// <summary>`kvstore member list | add NAME --peer-url U [--client-url U] [--learner] | remove ID | promote ID` (ids in hex as listed).</summary>
internal static class MemberCommand
{
    private static readonly Argument<string> Name = new("name") { Description = "The new member's name." };
    private static readonly Option<string[]> PeerUrls = new("--peer-url") { Description = "Peer URL host:port (repeatable).", Required = true, AllowMultipleArgumentsPerToken = true };
    private static readonly Option<string[]> ClientUrls = new("--client-url") { Description = "Client URL host:port (repeatable).", AllowMultipleArgumentsPerToken = true };
    private static readonly Option<bool> Learner = new("--learner") { Description = "Join as a non-voting learner (promote it once it has caught up)." };
    private static readonly Argument<string> Id = new("id") { Description = "Member id in hexadecimal, as `member list` prints it (0x prefix optional)." };

    public static Command Create()
    {
        var member = new Command("member", "List and change the cluster's members.");

        member.Subcommands.Add(ClientVerb.Create("list", "member list", "List the members.", async (_, client, output, ct) =>
        {
            output.Members(await client.MemberListAsync(ct).ConfigureAwait(false));
            return 0;
        }));

        var add = ClientVerb.Create("add", "member add", "Add a member.", async (parse, client, output, ct) =>
        {
            var added = await client.MemberAddAsync(
                parse.GetValue(Name)!, parse.GetValue(PeerUrls) ?? [], parse.GetValue(ClientUrls) ?? [], parse.GetValue(Learner), ct).ConfigureAwait(false);
            output.MemberAdded(added);
            return 0;
        });
        add.Arguments.Add(Name);
        add.Options.Add(PeerUrls);
        add.Options.Add(ClientUrls);
        add.Options.Add(Learner);
        member.Subcommands.Add(add);

        var remove = ClientVerb.Create("remove", "member remove", "Remove a member.", async (parse, client, output, ct) =>
        {
            ulong id = ParseId(parse.GetValue(Id)!);
            output.MemberChanged("removed", id, await client.MemberRemoveAsync(id, ct).ConfigureAwait(false));
            return 0;
        });
        remove.Arguments.Add(Id);
        member.Subcommands.Add(remove);

        var promote = ClientVerb.Create("promote", "member promote", "Promote a learner to a voting member.", async (parse, client, output, ct) =>
        {
            ulong id = ParseId(parse.GetValue(Id)!);
            output.MemberChanged("promoted", id, await client.MemberPromoteAsync(id, ct).ConfigureAwait(false));
            return 0;
        });
        promote.Arguments.Add(Id);
        member.Subcommands.Add(promote);
        return member;
    }

    /// <summary>Member ids are hexadecimal (as listed), with or without 0x.</summary>
    public static ulong ParseId(string text)
    {
        var digits = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text.AsSpan(2) : text.AsSpan();
        return ulong.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong id) && id != 0
            ? id
            : throw new CliUsageException($"member id '{text}' is not a non-zero hexadecimal number");
    }
}
