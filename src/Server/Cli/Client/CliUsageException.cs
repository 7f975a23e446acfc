namespace KvStore.Server.Cli.Client;

/// <summary>The command line asked for something impossible (exit code 2, one line on stderr).</summary>
internal sealed class CliUsageException : Exception
{
    public CliUsageException(string message)
        : base(message)
    {
    }
}
