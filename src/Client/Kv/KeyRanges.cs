namespace KvStore.Client;

/// <summary>Range ends in etcd's convention, which the store follows.</summary>
public static class KeyRanges
{
    /// <summary>The range end that selects every key (from the start key on): a single zero byte.</summary>
    public static ReadOnlyMemory<byte> AllKeysEnd { get; } = new byte[] { 0 };

    /// <summary>
    /// The exclusive end of the range of keys starting with <paramref name="prefix"/>: the prefix with
    /// its last byte below 0xFF incremented and what follows dropped. A prefix of only 0xFF bytes (or an
    /// empty one) has no such end, so it selects every key from the prefix on (<see cref="AllKeysEnd"/>).
    /// </summary>
    public static byte[] PrefixEnd(ReadOnlySpan<byte> prefix)
    {
        for (int i = prefix.Length - 1; i >= 0; i--)
        {
            if (prefix[i] < 0xFF)
            {
                var end = prefix[..(i + 1)].ToArray();
                end[i]++;
                return end;
            }
        }

        return [0];
    }
}
