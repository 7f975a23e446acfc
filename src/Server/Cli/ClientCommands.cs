using System.CommandLine;
using KvStore.Server.Cli.Bench;
using KvStore.Server.Cli.Client;

namespace KvStore.Server.Cli;

/// <summary>
/// The client verbs of `kvstore` (put, get, del, txn, compact, status, member) and `bench`. Each
/// verb lives in its own file under Cli/Client or Cli/Bench; this adds them to the root.
/// </summary>
public static class ClientCommands
{
    /// <summary>Adds every client verb to <paramref name="root"/>.</summary>
    public static void AddTo(Command root)
    {
        ArgumentNullException.ThrowIfNull(root);
        root.Subcommands.Add(PutCommand.Create());
        root.Subcommands.Add(GetCommand.Create());
        root.Subcommands.Add(DelCommand.Create());
        root.Subcommands.Add(TxnCommand.Create());
        root.Subcommands.Add(CompactCommand.Create());
        root.Subcommands.Add(StatusCommand.Create());
        root.Subcommands.Add(MemberCommand.Create());
        root.Subcommands.Add(WatchCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(LockCommand.Create());
        root.Subcommands.Add(ElectCommand.Create());
        root.Subcommands.Add(LeaseCommand.Create());
    }
}
