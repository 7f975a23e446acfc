namespace KvStore.Benchmarks.Storage;

/// <summary>
/// db_bench's keys: key i is i in 16 zero-padded decimal digits, so order by bytes is order by i.
/// An absent key is 15 digits followed by '.', which sorts between existing keys
/// ("000000000000123." lies just before "0000000000001230"), so tables' key ranges
/// cannot rule it out and only the Bloom filter can.
/// </summary>
public static class BenchKeys
{
    public static void Existing(long i, Span<byte> key) => Digits(i, key[..EngineBudget.KeySize]);

    /// <summary>An absent key next to existing key <paramref name="i"/> (valid for any i below 10^15).</summary>
    public static void Missing(long i, Span<byte> key)
    {
        Digits(i / 10, key[..(EngineBudget.KeySize - 1)]);
        key[EngineBudget.KeySize - 1] = (byte)'.';
    }

    private static void Digits(long value, Span<byte> destination)
    {
        for (int p = destination.Length - 1; p >= 0; p--)
        {
            destination[p] = (byte)('0' + (value % 10));
            value /= 10;
        }
    }
}
