using System.CommandLine;
using KvStore.Client;

namespace KvStore.Server.Cli.Client;

/// <summary>`kvstore compact REV [--physical]`: drops the history below REV.</summary>
internal static class CompactCommand
{
    private static readonly Argument<long> Revision = new("revision") { Description = "The oldest revision to keep." };
    private static readonly Option<bool> Physical = new("--physical") { Description = "Wait until the compaction has reached storage." };

    public static Command Create()
    {
        var command = ClientVerb.Create("compact", "Drop the key-value history below a revision.", RunAsync);
        command.Arguments.Add(Revision);
        command.Options.Add(Physical);
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, KvStoreClient client, CliOutput output, CancellationToken cancellationToken)
    {
        long revision = parse.GetValue(Revision);
        if (revision <= 0)
        {
            throw new CliUsageException($"revision must be positive, not {revision}");
        }

        var header = await client.CompactAsync(revision, parse.GetValue(Physical), cancellationToken).ConfigureAwait(false);
        output.Compact(revision, header);
        return 0;
    }
}
