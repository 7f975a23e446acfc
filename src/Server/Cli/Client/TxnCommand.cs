using System.CommandLine;
using KvStore.Client;

namespace KvStore.Server.Cli.Client;

/// <summary>
/// `kvstore txn`: a transaction in etcdctl's txn syntax (see <see cref="TxnScript"/>), read from
/// stdin — with prompts on stderr when stdin is a terminal — or given as flags:
/// <c>kvstore txn --compare 'mod("k") > "0"' --success 'put k v' --failure 'get k'</c>.
/// Prints SUCCESS or FAILURE, then the result of each operation of the branch that ran.
/// </summary>
internal static class TxnCommand
{
    private static readonly Option<string[]> Compares = new("--compare") { Description = "A compare, e.g. 'mod(\"k\") > \"0\"' (repeatable).", };
    private static readonly Option<string[]> Success = new("--success") { Description = "An operation run when every compare holds, e.g. 'put k v' (repeatable)." };
    private static readonly Option<string[]> Failure = new("--failure") { Description = "An operation run otherwise (repeatable)." };

    public static Command Create()
    {
        var command = ClientVerb.Create(
            "txn",
            "Run a transaction. Without flags it reads three blocks from stdin (compares, success operations, failure operations), each ended by an empty line, in etcdctl's txn syntax.",
            RunAsync);
        command.Options.Add(Compares);
        command.Options.Add(Success);
        command.Options.Add(Failure);
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, KvStoreClient client, CliOutput output, CancellationToken cancellationToken)
    {
        var compares = parse.GetValue(Compares) ?? [];
        var success = parse.GetValue(Success) ?? [];
        var failure = parse.GetValue(Failure) ?? [];
        (List<TxnCondition> If, List<TxnOp> Then, List<TxnOp> Else) txn;
        if (compares.Length + success.Length + failure.Length > 0)
        {
            txn = (compares.Select(TxnScript.ParseCompare).ToList(), success.Select(TxnScript.ParseOp).ToList(), failure.Select(TxnScript.ParseOp).ToList());
        }
        else
        {
            txn = TxnScript.Parse(await ReadScriptAsync(cancellationToken).ConfigureAwait(false));
        }

        var result = await client.Txn().If([.. txn.If]).Then([.. txn.Then]).Else([.. txn.Else]).CommitAsync(cancellationToken).ConfigureAwait(false);
        output.Txn(result);
        return 0;
    }

    private static async Task<string> ReadScriptAsync(CancellationToken cancellationToken)
    {
        if (!Console.IsInputRedirected)
        {
            // Interactive: prompt for each block as etcdctl does; an empty line ends a block.
            var script = new System.Text.StringBuilder();
            foreach (var prompt in new[] { "compares:", "success requests (get, put, del):", "failure requests (get, put, del):" })
            {
                Console.Error.WriteLine(prompt);
                while (await Console.In.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { Length: > 0 } line)
                {
                    script.AppendLine(line);
                }

                script.AppendLine();
                Console.Error.WriteLine();
            }

            return script.ToString();
        }

        return await Console.In.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
    }
}
