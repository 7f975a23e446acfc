using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using KvStore.Raft.Core;
using KvStore.Server.Mvcc;
using KvStore.Server.Protos;

namespace KvStore.Server.Tests.Mvcc;

/// <summary>Builds commands and log entries for state machine tests, and dumps a store for comparison.</summary>
internal static class KvCommands
{
    public static KvCommand Put(string key, string value, ulong client = 0, ulong sequence = 0, long issuedAt = 0) => new()
    {
        ClientId = client,
        Sequence = sequence,
        IssuedAtUnixMs = issuedAt,
        Put = new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value), PrevKv = true },
    };

    /// <summary>
    /// Grants of leases 1 and 2 (the ids <see cref="KvRequestGenerator"/> attaches to keys), with a
    /// TTL no test outlives: a put naming a lease that does not exist is refused.
    /// </summary>
    public static List<KvCommand> GeneratorLeases() =>
    [
        new KvCommand { LeaseGrant = new LeaseGrantRequest { Id = 1, TtlSeconds = 1_000_000 } },
        new KvCommand { LeaseGrant = new LeaseGrantRequest { Id = 2, TtlSeconds = 1_000_000 } },
    ];

    public static Entry Entry(long index, KvCommand command) => Raft.Core.Entry.Normal(index, 1, command.ToByteArray());

    /// <summary>
    /// A random log (after <see cref="GeneratorLeases"/>): commands of every kind (some in sessions, some retried, some compactions),
    /// leader no-ops and configuration-change entries, with a growing issued_at clock.
    /// </summary>
    public static List<Entry> RandomLog(Random random, int count)
    {
        var generator = new KvRequestGenerator(random);
        var entries = GeneratorLeases().Select((grant, i) => Entry(i + 1, grant)).ToList();
        var sequences = new ulong[4];
        KvCommand? last = null;
        long clock = 1_000_000;
        long revisionGuess = 0;
        for (long index = entries.Count + 1; index <= count; index++)
        {
            clock += random.Next(0, 2000);
            int dice = random.Next(100);
            if (dice < 3)
            {
                entries.Add(Raft.Core.Entry.Normal(index, 1, ReadOnlyMemory<byte>.Empty));
                continue;
            }

            if (dice < 5)
            {
                entries.Add(new Entry(index, 1, EntryType.ConfChange, new byte[] { 1, 2, 3 }));
                continue;
            }

            if (dice < 10 && last != null)
            {
                entries.Add(Entry(index, last));
                continue;
            }

            var command = new KvCommand { IssuedAtUnixMs = clock };
            int op = random.Next(100);
            if (op < 45)
            {
                command.Put = generator.Put();
                revisionGuess++;
            }
            else if (op < 60)
            {
                command.DeleteRange = generator.Delete();
            }
            else if (op < 95)
            {
                command.Txn = generator.Txn(0, revisionGuess);
            }
            else
            {
                command.Compact = new CompactionRequest { Revision = Math.Max(1, revisionGuess - random.Next(5)) };
            }

            int client = random.Next(4);
            if (client > 0)
            {
                command.ClientId = (ulong)client;
                command.Sequence = ++sequences[client];
            }

            last = command;
            entries.Add(Entry(index, command));
        }

        return entries;
    }

    /// <summary>Every LSM entry of the store (data, history, events, meta, sessions) as text.</summary>
    public static List<string> Dump(MvccStore store) =>
        store.ExportEntries().Select(e => $"{Convert.ToHexString(e.Key)}={Convert.ToHexString(e.Value)}").ToList();
}
