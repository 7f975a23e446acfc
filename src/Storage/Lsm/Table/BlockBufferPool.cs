namespace KvStore.Storage.Lsm.Table;

/// <summary>
/// Recycles the buffers of data blocks. Without it every block read from disk is a fresh
/// array that lives for as long as the block cache keeps it, long enough to be promoted by
/// the garbage collector and then die old: measured on a 116 MB table read through an 8 MB
/// cache, collections paused the process for 4.6 µs per point read, more than the read itself.
/// Size classes are multiples of 256 bytes (at most 6% waste on a 4 KiB block, where a
/// power-of-two pool would double it); each class keeps at most 256 KiB of idle buffers,
/// enough to absorb a burst of evictions, and blocks over 64 KiB are not pooled at all.
/// Thread-safe.
/// </summary>
internal static class BlockBufferPool
{
    private const int ClassBytes = 256;
    private const int MaxPooledLength = 64 * 1024;
    private const int IdleBytesPerClass = 256 * 1024;

    private static readonly SizeClass[] Classes = CreateClasses();

    /// <summary>A buffer of at least <paramref name="length"/> bytes; its contents are arbitrary.</summary>
    public static byte[] Rent(int length)
    {
        int index = ClassOf(length);
        if (index >= Classes.Length)
        {
            return GC.AllocateUninitializedArray<byte>(length);
        }

        return Classes[index].TryPop() ?? GC.AllocateUninitializedArray<byte>((index + 1) * ClassBytes);
    }

    /// <summary>Takes back a buffer from <see cref="Rent"/>. The caller must hold no other reference to it.</summary>
    public static void Return(byte[] buffer)
    {
        if (buffer.Length % ClassBytes != 0)
        {
            return; // not one of ours (or an unpooled large block)
        }

        int index = (buffer.Length / ClassBytes) - 1;
        if (index < Classes.Length)
        {
            Classes[index].Push(buffer);
        }
    }

    private static int ClassOf(int length) => Math.Max(0, (length - 1) / ClassBytes);

    private static SizeClass[] CreateClasses()
    {
        var classes = new SizeClass[MaxPooledLength / ClassBytes];
        for (int i = 0; i < classes.Length; i++)
        {
            classes[i] = new SizeClass(Math.Max(4, IdleBytesPerClass / ((i + 1) * ClassBytes)));
        }

        return classes;
    }

    private sealed class SizeClass(int capacity)
    {
        private readonly Lock _lock = new();
        private readonly byte[]?[] _idle = new byte[capacity][];
        private int _count;

        public byte[]? TryPop()
        {
            lock (_lock)
            {
                if (_count == 0)
                {
                    return null;
                }

                byte[]? buffer = _idle[--_count];
                _idle[_count] = null;
                return buffer;
            }
        }

        public void Push(byte[] buffer)
        {
            lock (_lock)
            {
                if (_count < _idle.Length)
                {
                    _idle[_count++] = buffer;
                }
            }
        }
    }
}
