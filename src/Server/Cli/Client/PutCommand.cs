using System.CommandLine;
using KvStore.Client;

namespace KvStore.Server.Cli.Client;

/// <summary>`kvstore put KEY VALUE [--prev-kv] [--lease ID]`.</summary>
internal static class PutCommand
{
    private static readonly Argument<string> Key = new("key") { Description = "The key." };
    private static readonly Argument<string> Value = new("value") { Description = "The value." };
    private static readonly Option<bool> PrevKv = new("--prev-kv") { Description = "Print the previous key-value pair." };
    private static readonly Option<long> Lease = new("--lease") { Description = "Attach the key to this lease id (decimal or 0x hex)." , CustomParser = LeaseId.Parse };

    public static Command Create()
    {
        var command = ClientVerb.Create("put", "Put a key-value pair.", RunAsync);
        command.Arguments.Add(Key);
        command.Arguments.Add(Value);
        command.Options.Add(PrevKv);
        command.Options.Add(Lease);
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, KvStoreClient client, CliOutput output, CancellationToken cancellationToken)
    {
        var result = await client.PutAsync(
            parse.GetValue(Key)!, parse.GetValue(Value)!, new PutOptions { PrevKv = parse.GetValue(PrevKv), Lease = parse.GetValue(Lease) }, cancellationToken).ConfigureAwait(false);
        output.Put(result);
        return 0;
    }
}
