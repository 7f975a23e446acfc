using System.Buffers.Binary;

namespace KvStore.Raft.Host;

/// <summary>
/// The host prefixes every proposed command with the proposing node and a per-node sequence
/// number, so that when the entry is applied, on whichever node proposed it (a follower
/// forwards proposals to the leader), the waiting proposal can be found and completed.
/// </summary>
/// <remarks>
/// Layout (stored in the Raft log; do not change): proposer u64 LE, sequence u64 LE, command bytes.
/// An empty Normal entry (a leader's no-op) has no header.
/// </remarks>
internal static class ProposalHeader
{
    public const int Size = 16;

    public static byte[] Wrap(ulong proposer, ulong sequence, ReadOnlySpan<byte> command)
    {
        var data = new byte[Size + command.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(data, proposer);
        BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(8), sequence);
        command.CopyTo(data.AsSpan(Size));
        return data;
    }

    public static (ulong Proposer, ulong Sequence, ReadOnlyMemory<byte> Command) Unwrap(ulong group, long index, ReadOnlyMemory<byte> data)
    {
        if (data.Length < Size)
        {
            throw new InvalidDataException($"group {group}: entry {index} has {data.Length} bytes, fewer than the {Size}-byte proposal header");
        }

        var span = data.Span;
        return (BinaryPrimitives.ReadUInt64LittleEndian(span), BinaryPrimitives.ReadUInt64LittleEndian(span[8..]), data[Size..]);
    }
}
