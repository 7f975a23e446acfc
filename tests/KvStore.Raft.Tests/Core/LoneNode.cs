using KvStore.Raft.Core;

namespace KvStore.Raft.Tests.Core;

/// <summary>One RaftNode without a network, over a prepared log, for rule tests that step messages by hand.</summary>
internal static class LoneNode
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<RaftNode, MemoryRaftStorage> s_storageOf = new();

    public static RaftNode WithLog(ulong id, long[] terms, HardState hs, ConfState? cs = null, Func<RaftConfig, RaftConfig>? configure = null)
    {
        var storage = new MemoryRaftStorage(cs ?? new ConfState { Voters = [1, 2, 3] });
        storage.Append(terms.Select((t, i) => Entry.Normal(i + 1, t, ReadOnlyMemory<byte>.Empty)).ToList());
        storage.SetHardState(hs);
        var cfg = RaftTestCluster.DefaultConfig(id);
        var node = new RaftNode(configure is null ? cfg : configure(cfg), storage);
        s_storageOf.Add(node, storage);
        return node;
    }

    /// <summary>Runs the host loop on a lone node (persisting to its storage) and returns what it sent.</summary>
    public static List<Message> Drain(RaftNode node)
    {
        s_storageOf.TryGetValue(node, out var storage);
        var all = new List<Message>();
        while (node.HasReady())
        {
            var rd = node.GetReady();
            if (storage is not null)
            {
                if (rd.Snapshot is { } snap)
                {
                    storage.ApplySnapshot(snap);
                }
                storage.Append(rd.Entries);
                if (rd.HardState is { } hs)
                {
                    storage.SetHardState(hs);
                }
            }
            all.AddRange(rd.EarlyMessages);
            all.AddRange(rd.Messages);
            node.Advance();
        }
        return all;
    }
}
