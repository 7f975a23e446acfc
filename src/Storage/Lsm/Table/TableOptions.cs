namespace KvStore.Storage.Lsm.Table;

/// <summary>How tables are built and read. Builder and reader of one table should agree on <see cref="PrefixExtractor"/>.</summary>
public sealed record TableOptions
{
    /// <summary>Target uncompressed size of a data block; a block is cut once it reaches this size.</summary>
    public int BlockSize { get; init; } = 4096;

    /// <summary>Keys between restart points in a data block (full keys stored there, for binary search).</summary>
    public int RestartInterval { get; init; } = 16;

    /// <summary>Bloom filter bits per distinct key (or prefix); 0 builds no filter.</summary>
    public int BloomBitsPerKey { get; init; } = 10;

    /// <summary>When set, the filter is built on <see cref="IKeyPrefixExtractor.Prefix"/> of in-domain user keys; null: on whole user keys.</summary>
    public IKeyPrefixExtractor? PrefixExtractor { get; init; }

    /// <summary>Check the CRC32C of every data block read. Metadata blocks (footer, index, filter) are always checked.</summary>
    public bool VerifyChecksums { get; init; } = true;

    internal void Validate()
    {
        if (BlockSize < 64)
        {
            throw new ArgumentOutOfRangeException(nameof(BlockSize), BlockSize, "block size must be at least 64 bytes");
        }

        if (RestartInterval < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(RestartInterval), RestartInterval, "restart interval must be at least 1");
        }

        if (BloomBitsPerKey is < 0 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(BloomBitsPerKey), BloomBitsPerKey, "Bloom bits per key must be within 0..64");
        }
    }
}
