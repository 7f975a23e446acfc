using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using KvStore.Storage.IO;
using KvStore.Storage.Lsm.Cache;

namespace KvStore.Storage.Lsm.Table;

/// <summary>
/// Reads one SSTable (format in <see cref="TableFormat"/>). <see cref="Open"/> checks the
/// footer and loads the index, filter and properties blocks, which stay in memory; data
/// blocks are read on demand with positional reads, through the <see cref="BlockCache"/> when
/// one is given. Immutable after open: <see cref="TryGet"/>, <see cref="NewIterator"/> and the
/// filter checks may be called from any number of threads at once (each iterator is used by
/// one thread). Every failed check throws <see cref="StorageCorruptionException"/>.
/// The reader owns the file once <see cref="Open"/> returns and disposes it in <see cref="Dispose"/>.
/// </summary>
public sealed class TableReader : IDisposable
{
    // One pair of block cursors per thread for point reads, so TryGet allocates nothing but
    // the value it returns. TryGet never re-enters itself on one thread.
    [ThreadStatic]
    private static BlockIterator? t_indexCursor;

    [ThreadStatic]
    private static BlockIterator? t_dataCursor;

    private readonly IStorageFile _file;
    private readonly string _fileName;
    private readonly ulong _fileNumber;
    private readonly BlockCache? _cache;
    private readonly bool _verifyChecksums;
    private readonly long _blocksEnd;  // where the footer starts; every block lies before it
    private readonly Block _index;
    private readonly BloomFilter? _filter;
    private readonly FilterMode _filterMode;
    private readonly IKeyPrefixExtractor? _extractor;
    private long _filterPassed;  // checks answered "maybe"; one counter per outcome keeps it one atomic add per check
    private long _filterUseful;

    private TableReader(IStorageFile file, string fileName, ulong fileNumber, TableOptions options, BlockCache? cache, long fileSize, Footer footer)
    {
        _file = file;
        _fileName = fileName;
        _fileNumber = fileNumber;
        _cache = cache;
        _verifyChecksums = options.VerifyChecksums;
        _blocksEnd = fileSize - TableFormat.FooterLength;

        Block metaIndex = ReadBlock(footer.MetaIndex, internalKeys: false, verify: true);
        BlockHandle? filterHandle = null;
        BlockHandle? propertiesHandle = null;
        string? extractorName = null;
        var cursor = new BlockIterator();
        cursor.Reset(metaIndex);
        for (cursor.SeekToFirst(); cursor.Valid; cursor.Next())
        {
            string name = Encoding.ASCII.GetString(cursor.Key);
            switch (name)
            {
                case TableFormat.FilterBlockName:
                    filterHandle = DecodeHandle(cursor.Value, metaIndex);
                    break;
                case TableFormat.PrefixExtractorName:
                    extractorName = Encoding.UTF8.GetString(cursor.Value);
                    break;
                case TableFormat.PropertiesBlockName:
                    propertiesHandle = DecodeHandle(cursor.Value, metaIndex);
                    break;
                default:
                    break; // written by a newer version; not needed to read the table
            }
        }

        if (propertiesHandle is not { } ph)
        {
            throw new StorageCorruptionException(fileName, footer.MetaIndex.Offset, "metaindex names no properties block");
        }

        byte[] properties = ReadBlockContents(ph, verify: true);
        Properties = PropertiesBlock.Decode(properties.AsSpan(0, ph.Size), fileSize, fileName, ph.Offset);

        if (filterHandle is { } fh)
        {
            _filter = BloomFilter.Parse(ReadBlockContents(fh, verify: true), fh.Size, fileName, fh.Offset);
            if (extractorName is null)
            {
                _filterMode = FilterMode.WholeKey;
            }
            else if (options.PrefixExtractor is { } extractor && extractor.Name == extractorName)
            {
                _filterMode = FilterMode.Prefix;
                _extractor = extractor;
            }
        }

        _index = ReadBlock(footer.Index, internalKeys: true, verify: true);
    }

    private enum FilterMode
    {
        /// <summary>No filter, or one built with a prefix extractor this reader does not have.</summary>
        None,
        WholeKey,
        Prefix,
    }

    public TableProperties Properties { get; }

    /// <summary>Filter lookups made (by <see cref="TryGet"/> and the MayContain checks).</summary>
    public long FilterChecks => Volatile.Read(ref _filterPassed) + Volatile.Read(ref _filterUseful);

    /// <summary>Filter lookups that answered "absent", each sparing a data block read.</summary>
    public long FilterUseful => Volatile.Read(ref _filterUseful);

    public string FileName => _fileName;

    public ulong FileNumber => _fileNumber;

    /// <summary>Opens a table, checking its footer and metadata blocks. <paramref name="fileName"/> appears in errors; <paramref name="fileNumber"/> keys the cache.</summary>
    public static TableReader Open(IStorageFile file, string fileName, ulong fileNumber, TableOptions options, BlockCache? cache)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(options);
        long fileSize = file.Length;
        if (fileSize < TableFormat.FooterLength)
        {
            throw new StorageCorruptionException(fileName, 0, $"file of {fileSize} bytes is too short to be a table (truncated?)");
        }

        long footerOffset = fileSize - TableFormat.FooterLength;
        Span<byte> footerBytes = stackalloc byte[TableFormat.FooterLength];
        if (file.Read(footerOffset, footerBytes) != TableFormat.FooterLength)
        {
            throw new StorageCorruptionException(fileName, footerOffset, "table footer could not be read in full");
        }

        var footer = Footer.Decode(footerBytes, fileName, footerOffset);
        return new TableReader(file, fileName, fileNumber, options, cache, fileSize, footer);
    }

    /// <summary>
    /// False when the filter proves no entry of <paramref name="userKey"/> is in the table.
    /// True when it may be, and when the table cannot be filtered for it (no filter, a filter
    /// built by another prefix extractor, or a key outside the extractor's domain).
    /// </summary>
    public bool MayContainUserKey(ReadOnlySpan<byte> userKey)
    {
        switch (_filterMode)
        {
            case FilterMode.WholeKey:
                return CheckFilter(userKey);
            case FilterMode.Prefix:
                return !_extractor!.InDomain(userKey) || CheckFilter(_extractor.Prefix(userKey));
            default:
                return true;
        }
    }

    /// <summary>
    /// False when the filter proves no key with this extracted <paramref name="prefix"/> (a value
    /// the table's prefix extractor returns) is in the table. True when it may be, or when the
    /// table's filter is not built on this reader's extractor.
    /// </summary>
    public bool MayContainPrefix(ReadOnlySpan<byte> prefix) =>
        _filterMode != FilterMode.Prefix || CheckFilter(prefix);

    public IInternalIterator NewIterator() => new TableIterator(this, fillCache: true);

    /// <summary>
    /// An iterator that, when <paramref name="fillCache"/> is false, uses cached blocks but does
    /// not add the blocks it reads: for compaction inputs, which are read once and would
    /// otherwise push the blocks point reads need out of the cache.
    /// </summary>
    public IInternalIterator NewIterator(bool fillCache) => new TableIterator(this, fillCache);

    /// <summary>
    /// Finds the newest entry of <paramref name="userKey"/> with sequence ≤ <paramref name="sequence"/>
    /// (a sequence above <see cref="InternalKey.MaxSequence"/> means the newest of all). A tombstone
    /// is found too: <paramref name="kind"/> is then <see cref="ValueKind.Deletion"/>.
    /// Consults the filter first.
    /// </summary>
    public bool TryGet(ReadOnlySpan<byte> userKey, ulong sequence, out ValueKind kind, out byte[] value) =>
        TryGet(userKey, sequence, out kind, out value, out _);

    /// <summary>
    /// <see cref="TryGet(ReadOnlySpan{byte}, ulong, out ValueKind, out byte[])"/>, also telling whether
    /// the filter alone answered (<paramref name="filteredOut"/>: no block was read), so a caller
    /// keeping its own filter statistics need not check the filter a second time.
    /// </summary>
    [SkipLocalsInit]
    public bool TryGet(ReadOnlySpan<byte> userKey, ulong sequence, out ValueKind kind, out byte[] value, out bool filteredOut)
    {
        kind = default;
        value = [];
        filteredOut = !MayContainUserKey(userKey);
        if (filteredOut)
        {
            return false;
        }

        int seekLength = InternalKey.EncodedLength(userKey.Length);
        byte[]? rented = null;
        Span<byte> seekKey = seekLength <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(seekLength));
        seekKey = seekKey[..seekLength];
        InternalKey.Encode(seekKey, userKey, Math.Min(sequence, InternalKey.MaxSequence), ValueKind.Value);

        BlockIterator index = t_indexCursor ??= new BlockIterator();
        BlockIterator data = t_dataCursor ??= new BlockIterator();
        try
        {
            index.Reset(_index);
            index.Seek(seekKey);

            // The first entry ≥ the seek key is in the block the index points to, or, when every
            // entry there is smaller, first in the next one.
            for (; index.Valid; index.Next())
            {
                Block block = ReadDataBlock(DecodeHandle(index.Value, _index));
                try
                {
                    data.Reset(block);
                    data.Seek(seekKey);
                    if (!data.Valid)
                    {
                        continue;
                    }

                    ReadOnlySpan<byte> found = data.Key;
                    if (!InternalKey.UserKey(found).SequenceEqual(userKey))
                    {
                        return false;
                    }

                    kind = InternalKey.Kind(found);
                    if (kind > ValueKind.Value)
                    {
                        throw new StorageCorruptionException(_fileName, block.FileOffset, $"entry has unknown value kind {(byte)kind}");
                    }

                    value = data.Value.ToArray();
                    return true;
                }
                finally
                {
                    data.Release();
                    block.Release();
                }
            }

            return false;
        }
        finally
        {
            index.Release();
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    public void Dispose() => _file.Dispose();

    internal Block IndexBlock => _index;

    internal BlockHandle DecodeHandle(ReadOnlySpan<byte> encoded, Block from)
    {
        if (!BlockHandle.TryDecode(encoded, _blocksEnd, out var handle))
        {
            throw new StorageCorruptionException(_fileName, from.FileOffset, $"bad block handle (outside the table's {_blocksEnd} bytes of blocks, or malformed)");
        }

        return handle;
    }

    /// <summary>
    /// Gets a data block from the cache, or reads, checks and caches it. The caller holds one
    /// reference on the block and must <see cref="Block.Release"/> it when done.
    /// </summary>
    internal Block ReadDataBlock(BlockHandle handle, bool fillCache = true)
    {
        if (_cache is null)
        {
            return ReadDataBlockFromFile(handle);
        }

        if (_cache.TryGet(_fileNumber, handle.Offset, out var cached))
        {
            return cached;
        }

        Block block = ReadDataBlockFromFile(handle);
        if (fillCache)
        {
            _cache.Insert(_fileNumber, handle.Offset, block);
        }

        return block;
    }

    private Block ReadDataBlockFromFile(BlockHandle handle)
    {
        byte[] buffer = BlockBufferPool.Rent(handle.Size + TableFormat.BlockTrailerLength);
        try
        {
            ReadBlockContents(handle, buffer, _verifyChecksums);
            return Block.Parse(buffer, handle.Size, internalKeys: true, _fileName, handle.Offset, pooled: true);
        }
        catch
        {
            BlockBufferPool.Return(buffer);
            throw;
        }
    }

    /// <summary>A metadata block: read with its checksum verified, kept for the reader's life, not pooled.</summary>
    private Block ReadBlock(BlockHandle handle, bool internalKeys, bool verify) =>
        Block.Parse(ReadBlockContents(handle, verify), handle.Size, internalKeys, _fileName, handle.Offset);

    private byte[] ReadBlockContents(BlockHandle handle, bool verify)
    {
        byte[] buffer = new byte[handle.Size + TableFormat.BlockTrailerLength];
        ReadBlockContents(handle, buffer, verify);
        return buffer;
    }

    /// <summary>Reads a block's contents and trailer into the start of <paramref name="buffer"/>; checks the type byte and, when asked, the CRC.</summary>
    private void ReadBlockContents(BlockHandle handle, byte[] buffer, bool verify)
    {
        int length = handle.Size + TableFormat.BlockTrailerLength;
        int read = _file.Read(handle.Offset, buffer.AsSpan(0, length));
        if (read != length)
        {
            throw new StorageCorruptionException(_fileName, handle.Offset, $"block of {length} bytes is cut short at {read} bytes (truncated file)");
        }

        byte type = buffer[handle.Size];
        if (verify)
        {
            uint stored = Crc32C.Unmask(BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(handle.Size + 1)));
            if (stored != Crc32C.Compute(buffer.AsSpan(0, handle.Size + 1)))
            {
                throw new StorageCorruptionException(_fileName, handle.Offset, $"block checksum mismatch ({handle.Size} bytes)");
            }
        }

        if (type != (byte)BlockCompression.None)
        {
            throw new StorageCorruptionException(_fileName, handle.Offset + handle.Size, $"unknown block compression type {type}");
        }
    }

    private bool CheckFilter(ReadOnlySpan<byte> key)
    {
        if (_filter!.MayContain(key))
        {
            Interlocked.Increment(ref _filterPassed);
            return true;
        }

        Interlocked.Increment(ref _filterUseful);
        return false;
    }
}
