using KvStore.Raft.Core;

namespace KvStore.Raft.Tests.Codec;

/// <summary>Builds random messages with every field the codec carries, and compares messages field by field.</summary>
internal static class RandomMessages
{
    public static Message Create(Random rng, MessageType type)
    {
        bool withSnapshot = type == MessageType.Snapshot || rng.Next(8) == 0;
        long index = RandomLong(rng);
        long logTerm = RandomLong(rng);
        int entryCount = rng.Next(4) == 0 ? 0 : rng.Next(1, 20);
        var entries = new Entry[entryCount];
        long previous = index;
        long term = logTerm;
        for (int i = 0; i < entryCount; i++)
        {
            // Mostly consecutive (the common Append), sometimes arbitrary to exercise the deltas.
            long entryIndex = rng.Next(5) == 0 ? RandomLong(rng) : unchecked(previous + 1);
            term = rng.Next(5) == 0 ? RandomLong(rng) : term + rng.Next(2);
            entries[i] = new Entry(entryIndex, term, (EntryType)rng.Next(2), RandomBytes(rng, rng.Next(0, 300)));
            previous = entryIndex;
        }

        bool reject = rng.Next(3) == 0;
        return new Message
        {
            Type = type,
            Group = RandomULong(rng),
            From = RandomULong(rng),
            To = RandomULong(rng),
            Term = RandomLong(rng),
            LogTerm = logTerm,
            Index = index,
            Entries = entries,
            Commit = RandomLong(rng),
            Reject = reject,
            RejectHint = reject ? RandomLong(rng) : 0,
            RejectHintTerm = reject ? RandomLong(rng) : 0,
            SnapshotMetadata = withSnapshot
                ? new SnapshotMetadata(RandomLong(rng), RandomLong(rng), new ConfState
                {
                    Voters = RandomIds(rng),
                    Learners = RandomIds(rng),
                    VotersOutgoing = RandomIds(rng),
                    LearnersNext = RandomIds(rng),
                    AutoLeave = rng.Next(2) == 0,
                })
                : null,
            ChunkOffset = withSnapshot ? RandomLong(rng) : 0,
            ChunkLast = rng.Next(2) == 0,
            Payload = RandomBytes(rng, rng.Next(0, 3) == 0 ? rng.Next(0, 5000) : 0),
        };
    }

    /// <summary>A text rendering of every field; two messages are equal on the wire iff these are equal.</summary>
    public static string Describe(Message m)
    {
        var parts = new List<string>
        {
            $"{m.Type} g={m.Group} {m.From}->{m.To} t={m.Term} lt={m.LogTerm} i={m.Index} c={m.Commit}",
            $"rej={m.Reject}/{m.RejectHint}/{m.RejectHintTerm} last={m.ChunkLast} off={m.ChunkOffset}",
            "payload=" + Convert.ToHexString(m.Payload.Span),
        };
        foreach (var e in m.Entries)
        {
            parts.Add($"e({e.Index},{e.Term},{e.Type},{Convert.ToHexString(e.Data.Span)})");
        }

        if (m.SnapshotMetadata is { } s)
        {
            var cs = s.ConfState;
            parts.Add($"snap({s.Index},{s.Term},v=[{string.Join(',', cs.Voters)}],l=[{string.Join(',', cs.Learners)}]," +
                      $"vo=[{string.Join(',', cs.VotersOutgoing)}],ln=[{string.Join(',', cs.LearnersNext)}],al={cs.AutoLeave})");
        }

        return string.Join(' ', parts);
    }

    private static long RandomLong(Random rng) => rng.Next(4) switch
    {
        0 => 0,
        1 => rng.Next(0, 1000),
        2 => rng.NextInt64(long.MinValue, long.MaxValue),
        _ => rng.NextInt64(0, long.MaxValue),
    };

    private static ulong RandomULong(Random rng) => rng.Next(3) switch
    {
        0 => (ulong)rng.Next(0, 10),
        1 => ulong.MaxValue - (ulong)rng.Next(0, 3),
        _ => (ulong)rng.NextInt64(),
    };

    private static ulong[] RandomIds(Random rng)
    {
        var ids = new ulong[rng.Next(0, 8)];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = RandomULong(rng);
        }

        return ids;
    }

    private static byte[] RandomBytes(Random rng, int length)
    {
        var bytes = new byte[length];
        rng.NextBytes(bytes);
        return bytes;
    }
}
