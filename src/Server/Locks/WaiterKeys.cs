using System.Globalization;

namespace KvStore.Server.Locks;

/// <summary>
/// Waiter keys: a client waiting for (or holding) lock NAME owns the key
/// <c>NAME/&lt;lease id as 16 lowercase hex digits&gt;</c>, put with that lease, so the lease's end
/// deletes it. The queue of NAME is every such key, ordered by create_revision.
/// </summary>
public static class WaiterKeys
{
    private const int SuffixLength = 17;

    public static byte[] For(ReadOnlySpan<byte> name, long lease)
    {
        var key = new byte[name.Length + SuffixLength];
        name.CopyTo(key);
        key[name.Length] = (byte)'/';
        string hex = ((ulong)lease).ToString("x16", CultureInfo.InvariantCulture);
        for (int i = 0; i < 16; i++)
        {
            key[name.Length + 1 + i] = (byte)hex[i];
        }

        return key;
    }

    /// <summary>Whether <paramref name="key"/> is a waiter key of some lock; if so, the lock's name.</summary>
    public static bool TryGetName(ReadOnlySpan<byte> key, out byte[] name)
    {
        name = [];
        if (key.Length <= SuffixLength || key[^SuffixLength] != (byte)'/')
        {
            return false;
        }

        foreach (byte b in key[^16..])
        {
            if (b is not ((>= (byte)'0' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f')))
            {
                return false;
            }
        }

        name = key[..^SuffixLength].ToArray();
        return true;
    }

    /// <summary>Whether <paramref name="key"/> is a waiter key of lock <paramref name="name"/>.</summary>
    public static bool BelongsTo(ReadOnlySpan<byte> key, ReadOnlySpan<byte> name) =>
        TryGetName(key, out byte[] owner) && owner.AsSpan().SequenceEqual(name);

    /// <summary>The range [NAME/, NAME0) holding every waiter key of <paramref name="name"/> (and keys of longer names, filtered by <see cref="BelongsTo"/>).</summary>
    public static (byte[] Begin, byte[] End) RangeOf(ReadOnlySpan<byte> name)
    {
        var begin = new byte[name.Length + 1];
        name.CopyTo(begin);
        begin[^1] = (byte)'/';
        byte[] end = begin.ToArray();
        end[^1] = (byte)'/' + 1;
        return (begin, end);
    }
}
