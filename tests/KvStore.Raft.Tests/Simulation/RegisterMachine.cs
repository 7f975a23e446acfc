using System.Buffers.Binary;
using KvStore.Raft.Core;
using KvStore.Raft.Host;

namespace KvStore.Raft.Tests.Simulation;

/// <summary>
/// The simulated clients' replicated state: every command is a unique 8-byte value, and the state is
/// the sequence of values applied so far (the last one is the register's value, the count a counter).
/// Keeping the whole sequence lets a read be checked against any acknowledged write.
/// </summary>
internal sealed class RegisterMachine : IStateMachine
{
    private readonly List<(long Index, long Value)> _values = [];

    public long AppliedIndex { get; private set; }

    public int Count => _values.Count;

    public static byte[] Command(long value)
    {
        var data = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(data, value);
        return data;
    }

    public static bool TryValue(ReadOnlyMemory<byte> data, out long value)
    {
        if (data.Length != 8)
        {
            value = 0;
            return false;
        }

        value = BinaryPrimitives.ReadInt64LittleEndian(data.Span);
        return true;
    }

    /// <summary>The value applied at <paramref name="index"/>, or null if none (not applied, or not a client command).</summary>
    public long? ValueAt(long index)
    {
        int lo = 0;
        int hi = _values.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) / 2;
            long at = _values[mid].Index;
            if (at == index)
            {
                return _values[mid].Value;
            }

            if (at < index)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return null;
    }

    public IReadOnlyList<object?> Apply(IReadOnlyList<Entry> entries)
    {
        var results = new List<object?>(entries.Count);
        foreach (var e in entries)
        {
            if (e.Index != AppliedIndex + 1)
            {
                throw new InvalidOperationException($"register applied entry {e.Index} right after {AppliedIndex}");
            }

            AppliedIndex = e.Index;
            if (e.Type != EntryType.Normal)
            {
                continue;
            }

            if (TryValue(e.Data, out long value))
            {
                _values.Add((e.Index, value));
            }

            results.Add((long)_values.Count);
        }

        return results;
    }

    public ReadOnlyMemory<byte> TakeSnapshot()
    {
        var data = new byte[16 * _values.Count];
        for (int i = 0; i < _values.Count; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(16 * i), _values[i].Index);
            BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(16 * i + 8), _values[i].Value);
        }

        return data;
    }

    public void Restore(Snapshot snapshot)
    {
        _values.Clear();
        var span = snapshot.Data.Span;
        for (int at = 0; at + 16 <= span.Length; at += 16)
        {
            _values.Add((BinaryPrimitives.ReadInt64LittleEndian(span[at..]), BinaryPrimitives.ReadInt64LittleEndian(span[(at + 8)..])));
        }

        AppliedIndex = snapshot.Metadata.Index;
    }
}
