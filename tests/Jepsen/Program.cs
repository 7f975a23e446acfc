using KvStore.Jepsen.Cli;

namespace KvStore.Jepsen;

/// <summary>The <c>kvstore-jepsen</c> executable.</summary>
public static class Program
{
    public static int Main(string[] args) => JepsenCommandLine.Run(args, Console.Out, Console.Error);
}
