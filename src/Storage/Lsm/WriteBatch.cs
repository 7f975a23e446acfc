using System.Buffers;

namespace KvStore.Storage.Lsm;

/// <summary>
/// Puts and deletes applied atomically by <see cref="LsmDatabase.Write"/>: after a crash
/// either all of them are present or none is.
/// </summary>
/// <remarks>
/// Encoded operations (also the body of a WAL record, see <see cref="Records.WalRecord"/>),
/// one after another:
/// <code>
///   kind: byte (ValueKind: 0 = deletion, 1 = value)
///   key:  varint length | bytes
///   value (kind 1 only): varint length | bytes
/// </code>
/// </remarks>
public sealed class WriteBatch
{
    private readonly ArrayBufferWriter<byte> _operations = new();

    /// <summary>Number of operations in the batch.</summary>
    public int Count { get; private set; }

    /// <summary>Bytes of keys and values the caller handed in (the numerator-free base of write amplification).</summary>
    public long UserBytes { get; private set; }

    /// <summary>Size of the encoded operations.</summary>
    public int ApproximateSize => _operations.WrittenCount;

    internal ReadOnlySpan<byte> Operations => _operations.WrittenSpan;

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        _operations.Write([(byte)ValueKind.Value]);
        Varint.WriteBytes(_operations, key);
        Varint.WriteBytes(_operations, value);
        Count++;
        UserBytes += key.Length + value.Length;
    }

    public void Delete(ReadOnlySpan<byte> key)
    {
        _operations.Write([(byte)ValueKind.Deletion]);
        Varint.WriteBytes(_operations, key);
        Count++;
        UserBytes += key.Length;
    }

    public void Clear()
    {
        _operations.Clear();
        Count = 0;
        UserBytes = 0;
    }
}

/// <summary>Walks encoded write-batch operations; <see cref="TryNext"/> returns false at the end and throws on malformed bytes.</summary>
internal ref struct WriteBatchReader(ReadOnlySpan<byte> operations)
{
    private readonly ReadOnlySpan<byte> _operations = operations;
    private int _position;

    public bool TryNext(out ValueKind kind, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        value = default;
        key = default;
        kind = ValueKind.Deletion;
        if (_position == _operations.Length)
        {
            return false;
        }

        byte tag = _operations[_position++];
        if (tag > (byte)ValueKind.Value || !Varint.TryReadBytes(_operations, ref _position, out key))
        {
            throw new InvalidDataException($"malformed write-batch operation before byte {_position}");
        }

        kind = (ValueKind)tag;
        if (kind == ValueKind.Value && !Varint.TryReadBytes(_operations, ref _position, out value))
        {
            throw new InvalidDataException($"malformed write-batch value before byte {_position}");
        }

        return true;
    }
}
