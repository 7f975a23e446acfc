namespace KvStore.Storage.Lsm.Table;

/// <summary>
/// Collects the hashes of a table's keys (or prefixes) and lays out a <see cref="BloomFilter"/>
/// sized at <c>bitsPerKey</c> per distinct key, rounded up to whole 64-byte blocks.
/// Consecutive equal keys (versions of one user key, keys sharing one prefix) are counted once.
/// </summary>
internal sealed class BloomFilterBuilder
{
    private readonly int _bitsPerKey;
    private ulong[] _hashes = new ulong[1024];
    private int _count;

    public BloomFilterBuilder(int bitsPerKey)
    {
        _bitsPerKey = bitsPerKey;
    }

    public int KeyCount => _count;

    /// <summary>
    /// Probes per key. A plain Bloom filter wants bitsPerKey × ln 2 (6.9 at 10 bits); a blocked
    /// one is best with slightly fewer, because an overfull block is hurt more by each extra
    /// probe. Measured on 100,000 keys: see docs/storage-format.md.
    /// </summary>
    public static int ProbesFor(int bitsPerKey) => Math.Clamp((int)Math.Round(bitsPerKey * 0.6), 1, BloomFilter.MaxProbes);

    public void Add(ReadOnlySpan<byte> key)
    {
        ulong hash = BloomFilter.Hash(key);
        if (_count > 0 && _hashes[_count - 1] == hash)
        {
            return;
        }

        if (_count == _hashes.Length)
        {
            Array.Resize(ref _hashes, _hashes.Length * 2);
        }

        _hashes[_count++] = hash;
    }

    /// <summary>The filter block contents.</summary>
    public byte[] Finish()
    {
        long bits = (long)_count * _bitsPerKey;
        int blockCount = (int)((bits + (BloomFilter.BlockBytes * 8) - 1) / (BloomFilter.BlockBytes * 8));
        int probes = ProbesFor(_bitsPerKey);
        byte[] contents = new byte[(blockCount * BloomFilter.BlockBytes) + 2];
        Span<byte> filterBits = contents.AsSpan(0, blockCount * BloomFilter.BlockBytes);
        for (int i = 0; i < _count; i++)
        {
            BloomFilter.Set(filterBits, blockCount, probes, _hashes[i]);
        }

        contents[^2] = (byte)probes;
        contents[^1] = BloomFilter.LayoutVersion;
        return contents;
    }
}
