using System.Buffers.Binary;
using KvStore.Raft.Core;
using KvStore.Raft.Host;
using KvStore.Storage;

namespace KvStore.Server.Node;

/// <summary>
/// Wraps a group's key-value state machine and keeps the <see cref="MemberDirectory"/> in step
/// with the applied log: ConfChange entries add, promote or remove members (their context names
/// the member), publish entries (<see cref="MemberEntryCodec"/>) record a member's client URL.
/// The inner state machine sees a publish entry as a no-op, so its applied index still advances
/// over every entry.
/// </summary>
/// <remarks>
/// Snapshot layout (do not change; snapshots are stored and sent to peers):
/// <code>
/// offset 0   u32 LE  magic 0x4D424D4B ("KMBM")
/// offset 4   u32 LE  n = length of the member list
/// offset 8   n bytes the member list (<see cref="MemberDirectory.Encode"/>, JSON)
/// offset 8+n         the inner state machine's snapshot
/// </code>
/// </remarks>
public sealed class MembershipStateMachine : IStateMachine
{
    private const uint SnapshotMagic = 0x4D424D4B;
    private readonly IStateMachine _inner;
    private readonly MemberDirectory _members;

    public MembershipStateMachine(IStateMachine inner, MemberDirectory members)
    {
        _inner = inner;
        _members = members;
    }

    public long AppliedIndex => _inner.AppliedIndex;

    public IReadOnlyList<object?> Apply(IReadOnlyList<Entry> entries)
    {
        List<Entry>? rewritten = null;
        for (int i = 0; i < entries.Count; i++)
        {
            Entry e = entries[i];
            if (e.Type == EntryType.ConfChange)
            {
                ApplyConfChange(e);
            }
            else if (e.Type == EntryType.Normal && MemberEntryCodec.IsMemberEntry(e.Data.Span))
            {
                if (MemberEntryCodec.TryDecode(e.Data.Span) is { } published && _members.Find(published.Id) is { } known)
                {
                    _members.Upsert(known with { ClientUrl = published.ClientUrl });
                }

                rewritten ??= [.. entries];
                rewritten[i] = e with { Data = ReadOnlyMemory<byte>.Empty };
            }
        }

        return _inner.Apply(rewritten ?? entries);
    }

    public ReadOnlyMemory<byte> TakeSnapshot() => CaptureSnapshot()();

    /// <summary>The member list is encoded now (it is small); the inner state machine's capture decides what runs later.</summary>
    public Func<ReadOnlyMemory<byte>> CaptureSnapshot()
    {
        byte[] members = _members.Encode();
        Func<ReadOnlyMemory<byte>> serializeInner = _inner.CaptureSnapshot();
        return () => Frame(members, serializeInner());
    }

    private static byte[] Frame(byte[] members, ReadOnlyMemory<byte> inner)
    {
        var bytes = new byte[8 + members.Length + inner.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, SnapshotMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), (uint)members.Length);
        members.CopyTo(bytes, 8);
        inner.Span.CopyTo(bytes.AsSpan(8 + members.Length));
        return bytes;
    }

    public void Restore(Snapshot snapshot)
    {
        ReadOnlySpan<byte> data = snapshot.Data.Span;
        string source = $"snapshot at index {snapshot.Metadata.Index}";
        if (data.Length < 8 || BinaryPrimitives.ReadUInt32LittleEndian(data) != SnapshotMagic)
        {
            throw new StorageCorruptionException(source, 0, "not a member-list snapshot (bad magic)");
        }

        uint length = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
        if (length > data.Length - 8)
        {
            throw new StorageCorruptionException(source, 4, $"member list of {length} bytes runs past the snapshot's {data.Length} bytes");
        }

        IReadOnlyList<MemberRecord> members = MemberDirectory.Decode(data.Slice(8, (int)length), source);
        _inner.Restore(snapshot with { Data = snapshot.Data[(8 + (int)length)..] });
        _members.Replace(members);
    }

    private void ApplyConfChange(Entry e)
    {
        if (e.Data.IsEmpty)
        {
            return;
        }

        ConfChange change = ConfChangeCodec.Decode(e.Data.Span);
        MemberRecord? named = MemberEntryCodec.TryDecode(change.Context.Span);
        foreach (ConfChangeSingle single in change.Changes)
        {
            MemberRecord? known = _members.Find(single.NodeId);
            switch (single.Type)
            {
                case ConfChangeType.RemoveNode:
                    _members.Remove(single.NodeId);
                    break;
                case ConfChangeType.AddLearner or ConfChangeType.AddVoter:
                    bool learner = single.Type == ConfChangeType.AddLearner;
                    if (named is not null && named.Id == single.NodeId)
                    {
                        _members.Upsert(named with { IsLearner = learner, ClientUrl = known?.ClientUrl is { Length: > 0 } url ? url : named.ClientUrl });
                    }
                    else if (known is not null)
                    {
                        _members.Upsert(known with { IsLearner = learner });
                    }

                    break;
            }
        }
    }
}
