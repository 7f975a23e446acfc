using System.CommandLine;
using System.Text;
using KvStore.Client;

namespace KvStore.Server.Cli.Client;

/// <summary>`kvstore get KEY [RANGE_END] [--prefix] [--limit N] [--rev R] [--keys-only] [--count-only] [--serializable] [--sort-by ..] [--order ..]`.</summary>
internal static class GetCommand
{
    private static readonly Argument<string> Key = new("key") { Description = "The key, or the first key of the range." };
    private static readonly Argument<string?> RangeEnd = new("range-end") { Description = "Exclusive end of the range [key, range-end).", Arity = ArgumentArity.ZeroOrOne };
    private static readonly Option<bool> Prefix = new("--prefix") { Description = "Every key that starts with KEY." };
    private static readonly Option<long> Limit = new("--limit") { Description = "Return at most N keys (0 = no limit)." };
    private static readonly Option<long> Revision = new("--rev") { Description = "Read at this past revision (0 = newest)." };
    private static readonly Option<bool> KeysOnly = new("--keys-only") { Description = "Print keys only." };
    private static readonly Option<bool> CountOnly = new("--count-only") { Description = "Print the number of keys only." };
    private static readonly Option<bool> Serializable = new("--serializable") { Description = "Read from the answering member's local state (may be stale)." };
    private static readonly Option<SortTarget> SortBy = new("--sort-by") { Description = "Sort by key, version, create, mod or value." };
    private static readonly Option<SortOrder> Order = new("--order") { Description = "none, ascend or descend." };

    public static Command Create()
    {
        var command = ClientVerb.Create("get", "Read a key, a prefix or a range.", RunAsync);
        command.Arguments.Add(Key);
        command.Arguments.Add(RangeEnd);
        foreach (Option option in new Option[] { Prefix, Limit, Revision, KeysOnly, CountOnly, Serializable, SortBy, Order })
        {
            command.Options.Add(option);
        }

        return command;
    }

    /// <summary>The range the command line describes.</summary>
    public static RangeOptions Options(ParseResult parse)
    {
        string? end = parse.GetValue(RangeEnd);
        bool prefix = parse.GetValue(Prefix);
        if (prefix && end is not null)
        {
            throw new CliUsageException("--prefix and a range end cannot be combined");
        }

        if (parse.GetValue(Limit) < 0 || parse.GetValue(Revision) < 0)
        {
            throw new CliUsageException("--limit and --rev must not be negative");
        }

        return new RangeOptions
        {
            Key = Encoding.UTF8.GetBytes(parse.GetValue(Key)!),
            RangeEnd = end is null ? default : Encoding.UTF8.GetBytes(end),
            Prefix = prefix,
            Limit = parse.GetValue(Limit),
            Revision = parse.GetValue(Revision),
            KeysOnly = parse.GetValue(KeysOnly),
            CountOnly = parse.GetValue(CountOnly),
            Serializable = parse.GetValue(Serializable),
            SortTarget = parse.GetValue(SortBy),
            SortOrder = parse.GetValue(Order),
        };
    }

    private static async Task<int> RunAsync(ParseResult parse, KvStoreClient client, CliOutput output, CancellationToken cancellationToken)
    {
        var options = Options(parse);
        var result = await client.RangeAsync(options, cancellationToken).ConfigureAwait(false);
        output.Range(result, options.KeysOnly, options.CountOnly);
        return 0;
    }
}
