using System.Buffers;

namespace KvStore.Raft.Codec;

/// <summary>
/// Writes bytes and LEB128 varints into an <see cref="IBufferWriter{T}"/>, asking it for
/// memory in chunks rather than per field. Call <see cref="Flush"/> once at the end.
/// </summary>
internal ref struct VarintWriter
{
    private const int MaxVarintBytes = 10;
    private const int ChunkHint = 256;

    private readonly IBufferWriter<byte> _output;
    private Span<byte> _span;
    private int _used;

    public VarintWriter(IBufferWriter<byte> output)
    {
        _output = output;
        _span = default;
        _used = 0;
    }

    public void WriteByte(byte value)
    {
        Ensure(1);
        _span[_used++] = value;
    }

    public void WriteUnsigned(ulong value)
    {
        Ensure(MaxVarintBytes);
        while (value >= 0x80)
        {
            _span[_used++] = (byte)(value | 0x80);
            value >>= 7;
        }

        _span[_used++] = (byte)value;
    }

    /// <summary>Zigzag encoding keeps small negative deltas as short as small positive ones.</summary>
    public void WriteSigned(long value) => WriteUnsigned(unchecked((ulong)((value << 1) ^ (value >> 63))));

    /// <summary>A length prefix followed by the bytes.</summary>
    public void WriteBytes(ReadOnlySpan<byte> data)
    {
        WriteUnsigned((ulong)data.Length);
        while (!data.IsEmpty)
        {
            Ensure(1);
            int n = Math.Min(data.Length, _span.Length - _used);
            data[..n].CopyTo(_span[_used..]);
            _used += n;
            data = data[n..];
        }
    }

    public void Flush()
    {
        if (_used > 0)
        {
            _output.Advance(_used);
        }

        _span = default;
        _used = 0;
    }

    private void Ensure(int bytes)
    {
        if (_span.Length - _used >= bytes)
        {
            return;
        }

        Flush();
        _span = _output.GetSpan(Math.Max(bytes, ChunkHint));
    }
}
