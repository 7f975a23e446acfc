namespace KvStore.Storage.Lsm.Table;

/// <summary>
/// The SSTable file format (also in docs/storage-format.md, "SSTable"). All fixed-width
/// integers are little-endian; varints are LEB128 (7 bits per byte, low group first).
/// <code>
/// file     := data block* | filter block? | index block | properties block | metaindex block | footer
/// block    := contents | trailer
/// trailer  := u8 compression type (0 = none; see BlockCompression)
///             | fixed32 masked CRC32C (Crc32C.Mask) over contents and the type byte
///
/// data / index / metaindex block contents (BlockBuilder):
///   entry*   := varint32 shared key length | varint32 unshared key length | varint32 value length
///               | unshared key bytes | value bytes
///   restarts := fixed32 offset of each restart entry (shared length 0) | fixed32 restart count
///   Data blocks hold internal keys in InternalKeyComparer order, a restart every
///   TableOptions.RestartInterval entries. The index block holds one entry per data block,
///   restart interval 1: key = a separator internal key (≥ every key of that block, &lt; every key
///   of the next; shortened on the user key), value = block handle of the data block.
///   The metaindex block maps ASCII names, in bytewise order, to values:
///     "filter.blocked-bloom"     -> block handle of the filter block
///     "filter.prefix-extractor"  -> UTF-8 name of the prefix extractor (absent: whole user keys)
///     "kvstore.properties"       -> block handle of the properties block
///   Unknown metaindex names are ignored by readers.
/// block handle := varint64 offset | varint64 contents size (the trailer follows the contents)
///
/// filter block contents (BloomFilter):
///   bits     := 64-byte cache-line blocks (count = (length - 2) / 64), bit p of a block is bit
///               (p mod 64) of its little-endian u64 word p / 64
///   u8 probes per key | u8 filter layout (1 = XXH64 seed 0, block = high 32 bits of the hash
///               scaled to the block count, probe i = (h1 + i*h2 + (i^3-i)/6) mod 512 with
///               h1 = hash bits 0..8, h2 = hash bits 9..17: enhanced double hashing)
///   Keys are the user keys, or with a prefix extractor the prefixes of in-domain user keys.
///
/// properties block contents:
///   varint64 entry count | varint64 data bytes | varint64 index bytes | varint64 filter bytes
///   | varint32 length, smallest internal key | varint32 length, largest internal key
///
/// footer (48 bytes, at file length - 48):
///   0  fixed64 metaindex offset | 8  fixed64 metaindex size
///   16 fixed64 index offset     | 24 fixed64 index size
///   32 fixed32 format version (1)
///   36 fixed32 masked CRC32C of footer bytes [0, 36)
///   40 fixed64 magic 0x4b5653535442_0001 ("KVSSTB", then 1)
/// </code>
/// </summary>
internal static class TableFormat
{
    /// <summary>Do not change: embedded in on-disk data. Bump on an incompatible layout change.</summary>
    public const uint FormatVersion = 1;

    /// <summary>Do not change: embedded in on-disk data.</summary>
    public const ulong Magic = 0x4b56_5353_5442_0001;

    public const int FooterLength = 48;

    public const int BlockTrailerLength = 5;

    /// <summary>Do not change: embedded in on-disk data (metaindex names).</summary>
    public const string FilterBlockName = "filter.blocked-bloom";

    /// <summary>Do not change: embedded in on-disk data (metaindex names).</summary>
    public const string PrefixExtractorName = "filter.prefix-extractor";

    /// <summary>Do not change: embedded in on-disk data (metaindex names).</summary>
    public const string PropertiesBlockName = "kvstore.properties";

    /// <summary>
    /// Largest block contents a reader accepts. A handle naming more is corruption, not a
    /// reason to allocate gigabytes; the builder cuts blocks at <see cref="TableOptions.BlockSize"/>,
    /// so only a single huge entry makes a block approach this.
    /// </summary>
    public const int MaxBlockContents = 1 << 30;
}

/// <summary>The trailer's type byte. Do not change the values: embedded in on-disk data.</summary>
internal enum BlockCompression : byte
{
    None = 0,
}
