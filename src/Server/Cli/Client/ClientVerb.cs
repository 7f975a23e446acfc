using System.CommandLine;
using System.Globalization;
using KvStore.Client;

namespace KvStore.Server.Cli.Client;

/// <summary>
/// What every client verb shares: the connection options (--endpoints, KVSTORE_ENDPOINTS,
/// timeouts), the output format (-o simple|json), and the exit convention — 0 on success,
/// otherwise exactly one line "kvstore VERB: reason" on stderr and 1 (the service failed) or
/// 2 (the command line was wrong).
/// </summary>
internal static class ClientVerb
{
    public const string EndpointsVariable = "KVSTORE_ENDPOINTS";

    public static readonly Option<string?> Endpoints = new("--endpoints")
    {
        Description = $"Comma-separated client endpoints host:port. Default: ${EndpointsVariable}, else {KvStoreClientOptions.DefaultEndpoint}.",
    };

    public static readonly Option<string> Output = CreateOutputOption();

    public static readonly Option<double> CommandTimeout = new("--command-timeout")
    {
        Description = "Seconds one command may take, retries included.",
        DefaultValueFactory = _ => 5,
    };

    public static readonly Option<double> DialTimeout = new("--dial-timeout")
    {
        Description = "Seconds one connection attempt may take.",
        DefaultValueFactory = _ => 2,
    };

    /// <summary>A verb with the shared options and an action that runs against a client.</summary>
    public static Command Create(string name, string description, Func<ParseResult, KvStoreClient, CliOutput, CancellationToken, Task<int>> action) =>
        Create(name, name, description, action);

    /// <summary>A verb whose error lines name it as <paramref name="verb"/> (e.g. "member add" for the subcommand add).</summary>
    public static Command Create(string name, string verb, string description, Func<ParseResult, KvStoreClient, CliOutput, CancellationToken, Task<int>> action)
    {
        var command = new Command(name, description);
        AddSharedOptions(command);
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, verb, action, cancellationToken));
        return command;
    }

    public static void AddSharedOptions(Command command)
    {
        command.Options.Add(Endpoints);
        command.Options.Add(Output);
        command.Options.Add(CommandTimeout);
        command.Options.Add(DialTimeout);
    }

    /// <summary>The endpoints: the flag if given, else the environment variable, else the default.</summary>
    public static IReadOnlyList<string> ResolveEndpoints(string? flag, string? environment)
    {
        string text = !string.IsNullOrWhiteSpace(flag) ? flag
            : !string.IsNullOrWhiteSpace(environment) ? environment
            : KvStoreClientOptions.DefaultEndpoint;
        var endpoints = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var endpoint in endpoints)
        {
            _ = KvStore.Client.Routing.EndpointAddress.Parse(endpoint);
        }

        return endpoints.Length > 0 ? endpoints : throw new ArgumentException($"no endpoint in '{text}'");
    }

    public static KvStoreClientOptions ClientOptions(ParseResult parseResult) => new()
    {
        Endpoints = ResolveEndpoints(parseResult.GetValue(Endpoints), Environment.GetEnvironmentVariable(EndpointsVariable)).ToList(),
        RequestTimeout = Seconds(parseResult.GetValue(CommandTimeout), "--command-timeout"),
        DialTimeout = Seconds(parseResult.GetValue(DialTimeout), "--dial-timeout"),
        ClientName = "kvstore-cli",
    };

    public static async Task<int> RunAsync(
        ParseResult parseResult, string verb, Func<ParseResult, KvStoreClient, CliOutput, CancellationToken, Task<int>> action, CancellationToken cancellationToken)
    {
        var output = new CliOutput(Console.Out, parseResult.GetValue(Output) == "json");
        try
        {
            await using var client = new KvStoreClient(ClientOptions(parseResult));
            return await action(parseResult, client, output, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or CliUsageException)
        {
            return Fail(verb, ex.Message, 2);
        }
        catch (KvStoreException ex)
        {
            return Fail(verb, ex.Message, 1);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Fail(verb, "interrupted", 130);
        }
    }

    public static int Fail(string verb, string message, int exitCode)
    {
        // One line, whatever the exception's message holds.
        Console.Error.WriteLine($"kvstore {verb}: {message.ReplaceLineEndings(" ")}");
        return exitCode;
    }

    private static TimeSpan Seconds(double value, string option) =>
        value > 0 && double.IsFinite(value)
            ? TimeSpan.FromSeconds(value)
            : throw new CliUsageException($"{option} must be a positive number of seconds, not {value.ToString(CultureInfo.InvariantCulture)}");

    private static Option<string> CreateOutputOption()
    {
        var option = new Option<string>("--output", "-o") { Description = "Output format: simple (for people) or json (for scripts).", DefaultValueFactory = _ => "simple" };
        option.AcceptOnlyFromAmong("simple", "json");
        return option;
    }
}
