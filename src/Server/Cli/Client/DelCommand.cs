using System.CommandLine;
using System.Text;
using KvStore.Client;

namespace KvStore.Server.Cli.Client;

/// <summary>`kvstore del KEY [RANGE_END] [--prefix] [--prev-kv]`: prints the number of keys deleted.</summary>
internal static class DelCommand
{
    private static readonly Argument<string> Key = new("key") { Description = "The key, or the first key of the range." };
    private static readonly Argument<string?> RangeEnd = new("range-end") { Description = "Exclusive end of the range [key, range-end).", Arity = ArgumentArity.ZeroOrOne };
    private static readonly Option<bool> Prefix = new("--prefix") { Description = "Delete every key that starts with KEY." };
    private static readonly Option<bool> PrevKv = new("--prev-kv") { Description = "Print the deleted key-value pairs." };

    public static Command Create()
    {
        var command = ClientVerb.Create("del", "Delete a key, a prefix or a range.", RunAsync);
        command.Arguments.Add(Key);
        command.Arguments.Add(RangeEnd);
        command.Options.Add(Prefix);
        command.Options.Add(PrevKv);
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, KvStoreClient client, CliOutput output, CancellationToken cancellationToken)
    {
        string? end = parse.GetValue(RangeEnd);
        if (parse.GetValue(Prefix) && end is not null)
        {
            throw new CliUsageException("--prefix and a range end cannot be combined");
        }

        var result = await client.DeleteAsync(
            parse.GetValue(Key)!,
            new DeleteOptions { Prefix = parse.GetValue(Prefix), PrevKv = parse.GetValue(PrevKv), RangeEnd = end is null ? default : Encoding.UTF8.GetBytes(end) },
            cancellationToken).ConfigureAwait(false);
        output.Delete(result);
        return 0;
    }
}
