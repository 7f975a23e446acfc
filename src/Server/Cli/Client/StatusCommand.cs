using System.CommandLine;
using KvStore.Client;

namespace KvStore.Server.Cli.Client;

/// <summary>
/// `kvstore status`: asks every endpoint for its status (name, id, leader or not, term, commit and
/// applied index, revision, data size). Exit 1 if an endpoint did not answer, after printing
/// the others.
/// </summary>
internal static class StatusCommand
{
    public static Command Create() => ClientVerb.Create("status", "Show the status of every endpoint.", RunAsync);

    private static async Task<int> RunAsync(ParseResult parse, KvStoreClient client, CliOutput output, CancellationToken cancellationToken)
    {
        var rows = await Task.WhenAll(client.Endpoints.Select(async endpoint =>
        {
            try
            {
                var status = await client.StatusAsync(endpoint, cancellationToken).ConfigureAwait(false);
                return (endpoint, (MemberStatus?)status, (string?)null);
            }
            catch (KvStoreException ex)
            {
                return (endpoint, null, ex.Message.ReplaceLineEndings(" "));
            }
        })).ConfigureAwait(false);
        output.Status(rows);
        var failed = rows.Where(r => r.Item2 is null).ToArray();
        return failed.Length == 0
            ? 0
            : ClientVerb.Fail("status", $"{failed.Length} of {rows.Length} endpoints did not answer ({string.Join(", ", failed.Select(f => f.endpoint))})", 1);
    }
}
