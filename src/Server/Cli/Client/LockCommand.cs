using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using KvStore.Client;

namespace KvStore.Server.Cli.Client;

/// <summary>
/// `kvstore lock NAME [--ttl S | --lease ID] [--timeout S] [--lock-delay S] [-- COMMAND ARGS…]`:
/// acquires the lock; with a command, runs it while holding the lock (its environment carries
/// KVSTORE_FENCING_TOKEN, KVSTORE_LOCK_KEY, KVSTORE_LOCK_NAME and KVSTORE_LEASE), releases the
/// lock when it exits and exits with its code; without one, prints the key and fencing token and
/// holds the lock until interrupted (Ctrl-C, SIGTERM).
/// </summary>
internal static class LockCommand
{
    public const string FencingTokenVariable = "KVSTORE_FENCING_TOKEN";
    public const string LockKeyVariable = "KVSTORE_LOCK_KEY";
    public const string LockNameVariable = "KVSTORE_LOCK_NAME";
    public const string LeaseVariable = "KVSTORE_LEASE";

    private static readonly Argument<string> Name = new("name") { Description = "The lock's name." };
    private static readonly Argument<string[]> Exec = new("command") { Description = "A command to run while holding the lock (after --).", Arity = ArgumentArity.ZeroOrMore };
    private static readonly Option<double> Ttl = new("--ttl") { Description = "TTL in seconds of the lease the lock is bound to (granted and kept alive by this process).", DefaultValueFactory = _ => 10 };
    private static readonly Option<long> Lease = new("--lease") { Description = "Bind the lock to this existing lease (decimal or 0x hex) instead of granting one.", CustomParser = LeaseId.Parse };
    private static readonly Option<double> Timeout = new("--timeout") { Description = "Give up after this many seconds of waiting (default: wait as long as it takes)." };
    private static readonly Option<double> LockDelay = new("--lock-delay") { Description = "Seconds the lock stays unavailable after this holder's lease expires (Chubby's lock-delay)." };

    public static Command Create()
    {
        var command = ClientVerb.Create("lock", "Acquire a lock (with a fencing token); run a command while holding it, or hold it until interrupted.", RunAsync);
        command.Arguments.Add(Name);
        command.Arguments.Add(Exec);
        command.Options.Add(Ttl);
        command.Options.Add(Lease);
        command.Options.Add(Timeout);
        command.Options.Add(LockDelay);
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, KvStoreClient client, CliOutput output, CancellationToken cancellationToken)
    {
        using var signal = new ShutdownSignal();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, signal.Token);
        string name = parse.GetValue(Name)!;
        string[] exec = parse.GetValue(Exec) ?? [];
        double timeoutSeconds = parse.GetValue(Timeout);
        TimeSpan? timeout = timeoutSeconds > 0 ? TimeSpan.FromSeconds(timeoutSeconds) : null;
        var options = new LockOptions { LockDelay = TimeSpan.FromSeconds(Math.Max(0, parse.GetValue(LockDelay))) };
        long lease = parse.GetValue(Lease);
        LockHandle held;
        try
        {
            held = lease != 0
                ? await client.Locks.AcquireLockAsync(name, lease, timeout, options, stop.Token).ConfigureAwait(false)
                : await client.Locks.AcquireLockAsync(name, TimeSpan.FromSeconds(parse.GetValue(Ttl)), timeout, options, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (signal.Token.IsCancellationRequested)
        {
            return ClientVerb.Fail("lock", "interrupted while waiting", 130);
        }

        await using (held.ConfigureAwait(false))
        {
            if (exec.Length == 0)
            {
                Print(output, held);
                Console.Out.Flush();
                using var holding = CancellationTokenSource.CreateLinkedTokenSource(stop.Token, held.Lost);
                try
                {
                    await Task.Delay(System.Threading.Timeout.Infinite, holding.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (held.Lost.IsCancellationRequested && !stop.IsCancellationRequested)
                {
                    return ClientVerb.Fail("lock", $"lost lock {name}: lease {held.Lease:x16} ended", 1);
                }
                catch (OperationCanceledException)
                {
                    // Interrupted: release and exit normally.
                }

                return 0;
            }

            // The command keeps running (its fenced writes are refused from now on), but say why.
            using CancellationTokenRegistration warning = held.Lost.Register(() =>
                Console.Error.WriteLine($"kvstore lock: lease {held.Lease:x16} of lock {name} was lost; the lock may belong to another client now"));
            return await RunHoldingAsync(exec, held, stop.Token).ConfigureAwait(false);
        }
    }

    private static async Task<int> RunHoldingAsync(string[] exec, LockHandle held, CancellationToken stop)
    {
        var info = new ProcessStartInfo(exec[0]) { UseShellExecute = false };
        foreach (string argument in exec.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment[FencingTokenVariable] = held.FencingToken.ToString(CultureInfo.InvariantCulture);
        info.Environment[LockKeyVariable] = held.Key;
        info.Environment[LockNameVariable] = held.Name;
        info.Environment[LeaseVariable] = held.Lease.ToString(CultureInfo.InvariantCulture);
        Process child;
        try
        {
            child = Process.Start(info) ?? throw new CliUsageException($"cannot start {exec[0]}");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new CliUsageException($"cannot start {exec[0]}: {ex.Message}");
        }

        using (child)
        {
            try
            {
                await child.WaitForExitAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Interrupted: the command must not go on without the lock being ours.
                child.Kill(entireProcessTree: true);
                await child.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                return 130;
            }

            return child.ExitCode;
        }
    }

    private static void Print(CliOutput output, LockHandle held)
    {
        if (output.Json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(new { name = held.Name, key = held.Key, fencing_token = held.FencingToken, lease = held.Lease.ToString("x16", CultureInfo.InvariantCulture) }));
        }
        else
        {
            Console.Out.WriteLine(held.Key);
            Console.Out.WriteLine(held.FencingToken.ToString(CultureInfo.InvariantCulture));
        }
    }
}
