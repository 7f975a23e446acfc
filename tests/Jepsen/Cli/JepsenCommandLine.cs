using System.CommandLine;

namespace KvStore.Jepsen.Cli;

/// <summary>
/// The <c>kvstore-jepsen</c> command line. Each verb is a <see cref="Command"/> built by its own
/// type and added here; a verb's action returns one of <see cref="ExitCodes"/>.
/// </summary>
public static class JepsenCommandLine
{
    public static RootCommand Build()
    {
        var root = new RootCommand("kvstore-jepsen: fault-injection testing of KvStore and the checkers of its histories");
        root.Subcommands.Add(CheckCommand.Create());
        root.Subcommands.Add(RunCommand.Create());
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>, writing to the given streams.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ParseResult parse = Build().Parse(args);
        if (parse.Errors.Count > 0)
        {
            // System.CommandLine exits 1 on a usage error; ours means "invalid history", so usage
            // errors are reported here and exit 2 like every other failure to run.
            foreach (var parseError in parse.Errors)
            {
                error.WriteLine($"kvstore-jepsen: {parseError.Message}");
            }
            error.WriteLine("Run 'kvstore-jepsen --help' for usage.");
            return ExitCodes.UnknownOrError;
        }
        return parse.Invoke(new InvocationConfiguration { Output = output, Error = error });
    }
}
