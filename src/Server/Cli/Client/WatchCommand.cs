using System.CommandLine;
using System.Text;
using System.Text.Json;
using KvStore.Client;

namespace KvStore.Server.Cli.Client;

/// <summary>
/// `kvstore watch KEY [RANGE_END] [--prefix] [--rev R] [--prev-kv] [--progress-notify]`: prints
/// changes as they are applied until Ctrl-C (exit 0). Simple output follows etcdctl — per event
/// "PUT" or "DELETE", then (with --prev-kv) the previous key and value, then the key and value;
/// json prints one object per revision: {"revision":R,"progress":false,"events":[...]}.
/// The watch resumes on another endpoint if its member fails, without a gap or a repeat.
/// </summary>
internal static class WatchCommand
{
    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static readonly Argument<string> Key = new("key") { Description = "The key, or the first key of the range." };
    private static readonly Argument<string?> RangeEnd = new("range-end") { Description = "Exclusive end of the range [key, range-end).", Arity = ArgumentArity.ZeroOrOne };
    private static readonly Option<bool> Prefix = new("--prefix") { Description = "Every key that starts with KEY." };
    private static readonly Option<long> Revision = new("--rev") { Description = "Start at this revision (0 = changes after now); earlier ones come from history." };
    private static readonly Option<bool> PrevKv = new("--prev-kv") { Description = "Print each key's previous version too." };
    private static readonly Option<bool> ProgressNotify = new("--progress-notify") { Description = "Print periodic progress notifications while idle." };

    public static Command Create()
    {
        var command = ClientVerb.Create("watch", "Print changes of a key, a prefix or a range as they happen, until Ctrl-C.", RunAsync);
        command.Arguments.Add(Key);
        command.Arguments.Add(RangeEnd);
        foreach (Option option in new Option[] { Prefix, Revision, PrevKv, ProgressNotify })
        {
            command.Options.Add(option);
        }

        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, KvStoreClient client, CliOutput output, CancellationToken cancellationToken)
    {
        string? end = parse.GetValue(RangeEnd);
        if (parse.GetValue(Prefix) && end is not null)
        {
            throw new CliUsageException("--prefix and a range end cannot be combined");
        }

        if (parse.GetValue(Revision) < 0)
        {
            throw new CliUsageException("--rev must not be negative");
        }

        var options = new WatchOptions
        {
            Prefix = parse.GetValue(Prefix),
            RangeEnd = end is null ? null : (ReadOnlyMemory<byte>?)Encoding.UTF8.GetBytes(end),
            StartRevision = parse.GetValue(Revision),
            PrevKv = parse.GetValue(PrevKv),
            ProgressNotify = parse.GetValue(ProgressNotify),
        };
        TextWriter writer = Console.Out;
        try
        {
            await foreach (WatchBatch batch in client.Watch(parse.GetValue(Key)!, options, cancellationToken).ConfigureAwait(false))
            {
                Print(writer, batch, output.Json, options.PrevKv);
                await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl-C is how a watch ends.
        }

        return 0;
    }

    private static void Print(TextWriter writer, WatchBatch batch, bool json, bool prevKv)
    {
        if (json)
        {
            writer.WriteLine(JsonSerializer.Serialize(
                new
                {
                    revision = batch.Revision,
                    progress = batch.IsProgress,
                    events = batch.Events.Select(e => new { type = e.Type == WatchEventType.Put ? "PUT" : "DELETE", kv = Kv(e.Kv), prev_kv = e.PrevKv is null ? null : Kv(e.PrevKv) }).ToArray(),
                },
                JsonOptions));
            return;
        }

        if (batch.IsProgress)
        {
            writer.WriteLine($"progress {batch.Revision}");
            return;
        }

        foreach (WatchEvent e in batch.Events)
        {
            writer.WriteLine(e.Type == WatchEventType.Put ? "PUT" : "DELETE");
            if (prevKv && e.PrevKv is { } prev)
            {
                writer.WriteLine(prev.KeyString);
                writer.WriteLine(prev.ValueString);
            }

            writer.WriteLine(e.Kv.KeyString);
            if (e.Type == WatchEventType.Put)
            {
                writer.WriteLine(e.Kv.ValueString);
            }
        }
    }

    private static object Kv(KvPair kv) => new
    {
        key = kv.KeyString, value = kv.ValueString, create_revision = kv.CreateRevision, mod_revision = kv.ModRevision, version = kv.Version, lease = kv.Lease,
    };
}
