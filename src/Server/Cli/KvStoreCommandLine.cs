using System.CommandLine;

namespace KvStore.Server.Cli;

/// <summary>The `kvstore` command tree. Each verb lives in its own file; this only assembles them.</summary>
public static class KvStoreCommandLine
{
    public static RootCommand Build()
    {
        var root = new RootCommand("KvStore: a Raft-replicated key-value store.");
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(ClusterCommand.Create());
        ClientCommands.AddTo(root);
        return root;
    }
}
