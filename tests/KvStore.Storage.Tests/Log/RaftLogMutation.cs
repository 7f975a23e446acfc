using KvStore.Storage.Log;

namespace KvStore.Storage.Tests.Log;

/// <summary>One store mutation, applied alike to a store and to the reference model.</summary>
internal abstract record RaftLogMutation
{
    public abstract void ApplyTo(IRaftLogStore store);

    public abstract void ApplyTo(RaftLogModel model);

    /// <summary>A random valid mutation for the current state of <paramref name="model"/>.</summary>
    public static RaftLogMutation Random(Random rng, RaftLogModel model, int groupCount)
    {
        ulong group = (ulong)rng.Next(1, groupCount + 1);
        long compacted = model.Compacted(group);
        long last = model.LastIndex(group);
        int roll = rng.Next(100);
        if (roll < 60)
        {
            // Mostly extend the log; sometimes overwrite a suffix (a Raft conflict).
            long first = last > compacted && rng.Next(5) == 0 ? rng.NextInt64(Math.Max(compacted + 1, last - 3), last + 1) : last + 1;
            int count = rng.Next(1, 6);
            long term = rng.Next(1, 10);
            var entries = new LogEntry[count];
            for (int i = 0; i < count; i++)
            {
                var data = new byte[rng.Next(rng.Next(10) == 0 ? 2000 : 200)];
                rng.NextBytes(data);
                entries[i] = new LogEntry(first + i, term, (byte)rng.Next(3), data);
            }

            return new AppendMutation(group, entries);
        }

        if (roll < 75)
        {
            return new HardStateMutation(group, new LogHardState(rng.Next(1, 100), (ulong)rng.Next(4), rng.Next(0, 1000)));
        }

        if (roll < 83 && last > compacted)
        {
            return new TruncateMutation(group, rng.NextInt64(compacted + 1, last + 1));
        }

        if (roll < 97)
        {
            // Compact most of the log now and then (what frees segments), sometimes past its end (a snapshot install).
            long through = rng.NextInt64(compacted + 1, last + 3);
            return new CompactMutation(group, through, rng.Next(1, 10));
        }

        return new RemoveGroupMutation(group);
    }
}

internal sealed record AppendMutation(ulong Group, LogEntry[] Entries) : RaftLogMutation
{
    public override void ApplyTo(IRaftLogStore store) => store.Append(Group, Entries);

    public override void ApplyTo(RaftLogModel model) => model.Append(Group, Entries);
}

internal sealed record HardStateMutation(ulong Group, LogHardState State) : RaftLogMutation
{
    public override void ApplyTo(IRaftLogStore store) => store.SaveHardState(Group, State);

    public override void ApplyTo(RaftLogModel model) => model.SaveHardState(Group, State);
}

internal sealed record TruncateMutation(ulong Group, long From) : RaftLogMutation
{
    public override void ApplyTo(IRaftLogStore store) => store.TruncateSuffix(Group, From);

    public override void ApplyTo(RaftLogModel model) => model.TruncateSuffix(Group, From);
}

internal sealed record CompactMutation(ulong Group, long Through, long Term) : RaftLogMutation
{
    public override void ApplyTo(IRaftLogStore store) => store.CompactPrefix(Group, Through, Term);

    public override void ApplyTo(RaftLogModel model) => model.CompactPrefix(Group, Through, Term);
}

internal sealed record RemoveGroupMutation(ulong Group) : RaftLogMutation
{
    public override void ApplyTo(IRaftLogStore store) => store.RemoveGroup(Group);

    public override void ApplyTo(RaftLogModel model) => model.RemoveGroup(Group);
}
