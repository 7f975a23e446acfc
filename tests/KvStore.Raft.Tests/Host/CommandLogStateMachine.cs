using System.Buffers.Binary;
using KvStore.Raft.Core;
using KvStore.Raft.Host;

namespace KvStore.Raft.Tests.Host;

/// <summary>
/// A state machine that remembers every applied command in order; the result of a command is
/// the number of commands applied so far, so a proposer can see where its command landed.
/// Snapshots serialize the whole list. Thread-safe reads for test assertions.
/// </summary>
internal sealed class CommandLogStateMachine : IStateMachine
{
    private readonly object _lock = new();
    private readonly List<byte[]> _commands = [];
    private long _applied;

    public long AppliedIndex
    {
        get
        {
            lock (_lock)
            {
                return _applied;
            }
        }
    }

    public int RestoreCount { get; private set; }

    public IReadOnlyList<string> Commands
    {
        get
        {
            lock (_lock)
            {
                return _commands.Select(c => System.Text.Encoding.UTF8.GetString(c)).ToArray();
            }
        }
    }

    public IReadOnlyList<object?> Apply(IReadOnlyList<Entry> entries)
    {
        lock (_lock)
        {
            var results = new List<object?>();
            foreach (var e in entries)
            {
                if (e.Index != _applied + 1)
                {
                    throw new InvalidOperationException($"applied {e.Index} after {_applied}");
                }

                _applied = e.Index;
                if (e.Type != EntryType.Normal)
                {
                    continue;
                }

                if (!e.Data.IsEmpty)
                {
                    _commands.Add(e.Data.ToArray());
                }

                results.Add((long)_commands.Count);
            }

            return results;
        }
    }

    public ReadOnlyMemory<byte> TakeSnapshot()
    {
        lock (_lock)
        {
            var stream = new MemoryStream();
            Span<byte> length = stackalloc byte[4];
            foreach (var c in _commands)
            {
                BinaryPrimitives.WriteInt32LittleEndian(length, c.Length);
                stream.Write(length);
                stream.Write(c);
            }

            return stream.ToArray();
        }
    }

    public void Restore(Snapshot snapshot)
    {
        lock (_lock)
        {
            _commands.Clear();
            var span = snapshot.Data.Span;
            while (!span.IsEmpty)
            {
                int n = BinaryPrimitives.ReadInt32LittleEndian(span);
                _commands.Add(span.Slice(4, n).ToArray());
                span = span[(4 + n)..];
            }

            _applied = snapshot.Metadata.Index;
            RestoreCount++;
        }
    }
}
