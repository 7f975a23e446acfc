using System.Buffers.Binary;
using System.Text;
using KvStore.Storage.IO;

namespace KvStore.Storage.Lsm.Table;

/// <summary>
/// Writes one SSTable (format in <see cref="TableFormat"/> and docs/storage-format.md) from
/// internal keys given in strictly increasing <see cref="InternalKeyComparer"/> order.
/// Blocks are written through a 64 KiB buffer; <see cref="Finish"/> writes the filter,
/// index, properties and metaindex blocks and the footer, then syncs the file.
/// The caller owns <see cref="IStorageFile"/> and disposes it; after a failed write (for
/// example <see cref="OutOfSpaceException"/>) the partial file must be discarded.
/// </summary>
public sealed class TableBuilder : IDisposable
{
    private const int WriteBufferSize = 64 * 1024;

    private readonly IStorageFile _file;
    private readonly TableOptions _options;
    private readonly BlockBuilder _dataBlock;
    private readonly BlockBuilder _indexBlock;
    private readonly BloomFilterBuilder? _filter;
    private readonly byte[] _writeBuffer = new byte[WriteBufferSize];
    private int _buffered;
    private long _flushedOffset;     // file offset of _writeBuffer[0]

    private byte[] _lastKey = new byte[64];
    private int _lastKeyLength;
    private byte[] _separator = new byte[64];
    private byte[]? _smallestKey;
    private bool _pendingIndexEntry; // a data block was written; its index entry waits for the next key
    private BlockHandle _pendingHandle;
    private long _entryCount;
    private long _dataBytes;
    private bool _finished;
    private bool _failed;
    private bool _disposed;

    public TableBuilder(IStorageFile file, TableOptions options)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _file = file;
        _options = options;
        _dataBlock = new BlockBuilder(options.RestartInterval, options.BlockSize + (options.BlockSize / 4));
        _indexBlock = new BlockBuilder(1, 4096);
        _filter = options.BloomBitsPerKey > 0 ? new BloomFilterBuilder(options.BloomBitsPerKey) : null;
    }

    /// <summary>Bytes written so far plus the block being built: what the file would hold if finished now, minus metadata.</summary>
    public long EstimatedSize => _flushedOffset + _buffered + (_dataBlock.IsEmpty ? 0 : _dataBlock.EstimatedSize);

    public long EntryCount => _entryCount;

    /// <summary>Adds an entry. Throws <see cref="ArgumentException"/> unless the key is a well-formed internal key greater than the previous one.</summary>
    public void Add(ReadOnlySpan<byte> internalKey, ReadOnlySpan<byte> value)
    {
        EnsureWritable();
        if (!InternalKey.IsWellFormed(internalKey))
        {
            throw new ArgumentException($"not an internal key ({internalKey.Length} bytes, or unknown value kind)", nameof(internalKey));
        }

        ReadOnlySpan<byte> lastKey = _lastKey.AsSpan(0, _lastKeyLength);
        if (_entryCount > 0 && InternalKeyComparer.Compare(internalKey, lastKey) <= 0)
        {
            throw new ArgumentException("table keys must be added in strictly increasing internal-key order", nameof(internalKey));
        }

        if (_pendingIndexEntry)
        {
            int length = IndexSeparator.Between(lastKey, internalKey, ref _separator);
            AddIndexEntry(_separator.AsSpan(0, length), _pendingHandle);
            _pendingIndexEntry = false;
        }

        AddToFilter(InternalKey.UserKey(internalKey));
        _smallestKey ??= internalKey.ToArray();
        if (_lastKey.Length < internalKey.Length)
        {
            _lastKey = new byte[Math.Max(internalKey.Length, _lastKey.Length * 2)];
        }

        internalKey.CopyTo(_lastKey);
        _lastKeyLength = internalKey.Length;

        _dataBlock.Add(internalKey, value);
        _entryCount++;
        if (_dataBlock.EstimatedSize >= _options.BlockSize)
        {
            FlushDataBlock();
        }
    }

    /// <summary>Writes the remaining blocks and the footer, syncs the file, and returns what the table holds.</summary>
    public TableProperties Finish()
    {
        EnsureWritable();
        _failed = true; // cleared on success: a throw below leaves a partial file
        FlushDataBlock();
        if (_pendingIndexEntry)
        {
            int length = IndexSeparator.After(_lastKey.AsSpan(0, _lastKeyLength), ref _separator);
            AddIndexEntry(_separator.AsSpan(0, length), _pendingHandle);
            _pendingIndexEntry = false;
        }

        BlockHandle? filterHandle = null;
        long filterBytes = 0;
        if (_filter is not null)
        {
            byte[] filter = _filter.Finish();
            filterHandle = WriteBlock(filter);
            filterBytes = filter.Length + TableFormat.BlockTrailerLength;
        }

        ReadOnlySpan<byte> index = _indexBlock.Finish();
        BlockHandle indexHandle = WriteBlock(index);
        long indexBytes = index.Length + TableFormat.BlockTrailerLength;

        byte[] largest = _lastKey.AsSpan(0, _lastKeyLength).ToArray();
        var properties = new TableProperties(0, _entryCount, _smallestKey ?? [], largest, _dataBytes, indexBytes, filterBytes);
        BlockHandle propertiesHandle = WriteBlock(PropertiesBlock.Encode(properties));

        // Metaindex names in bytewise order: filter.blocked-bloom < filter.prefix-extractor < kvstore.properties.
        var metaIndex = new BlockBuilder(1, 256);
        Span<byte> handleBytes = stackalloc byte[BlockHandle.MaxEncodedLength];
        if (filterHandle is { } fh)
        {
            metaIndex.Add(Encoding.ASCII.GetBytes(TableFormat.FilterBlockName), handleBytes[..fh.Encode(handleBytes)]);
            if (_options.PrefixExtractor is { } extractor)
            {
                metaIndex.Add(Encoding.ASCII.GetBytes(TableFormat.PrefixExtractorName), Encoding.UTF8.GetBytes(extractor.Name));
            }
        }

        metaIndex.Add(Encoding.ASCII.GetBytes(TableFormat.PropertiesBlockName), handleBytes[..propertiesHandle.Encode(handleBytes)]);
        BlockHandle metaIndexHandle = WriteBlock(metaIndex.Finish());

        Span<byte> footer = stackalloc byte[TableFormat.FooterLength];
        new Footer(metaIndexHandle, indexHandle).Encode(footer);
        Write(footer);
        FlushBuffer();
        _file.Sync();
        _finished = true;
        _failed = false;
        return properties with { FileSize = _flushedOffset };
    }

    /// <summary>Ends the builder's use. Does not dispose the file, which the caller owns; an unfinished table is not a valid table.</summary>
    public void Dispose()
    {
        _disposed = true;
    }

    private void EnsureWritable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_finished)
        {
            throw new InvalidOperationException("the table is already finished");
        }

        if (_failed)
        {
            throw new InvalidOperationException("a previous write to this table failed; discard the file and build it again");
        }
    }

    private void AddToFilter(ReadOnlySpan<byte> userKey)
    {
        if (_filter is null)
        {
            return;
        }

        if (_options.PrefixExtractor is { } extractor)
        {
            if (extractor.InDomain(userKey))
            {
                _filter.Add(extractor.Prefix(userKey));
            }
        }
        else
        {
            _filter.Add(userKey);
        }
    }

    private void AddIndexEntry(ReadOnlySpan<byte> separator, BlockHandle handle)
    {
        Span<byte> value = stackalloc byte[BlockHandle.MaxEncodedLength];
        _indexBlock.Add(separator, value[..handle.Encode(value)]);
    }

    private void FlushDataBlock()
    {
        if (_dataBlock.IsEmpty)
        {
            return;
        }

        ReadOnlySpan<byte> contents = _dataBlock.Finish();
        _pendingHandle = WriteBlock(contents);
        _pendingIndexEntry = true;
        _dataBytes += contents.Length + TableFormat.BlockTrailerLength;
        _dataBlock.Reset();
    }

    private BlockHandle WriteBlock(ReadOnlySpan<byte> contents)
    {
        var handle = new BlockHandle(_flushedOffset + _buffered, contents.Length);
        Span<byte> trailer = stackalloc byte[TableFormat.BlockTrailerLength];
        trailer[0] = (byte)BlockCompression.None;
        uint crc = Crc32C.Extend(Crc32C.Compute(contents), trailer[..1]);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[1..], Crc32C.Mask(crc));
        try
        {
            Write(contents);
            Write(trailer);
        }
        catch
        {
            _failed = true;
            throw;
        }

        return handle;
    }

    private void Write(ReadOnlySpan<byte> data)
    {
        if (_buffered + data.Length > _writeBuffer.Length)
        {
            FlushBuffer();
            if (data.Length > _writeBuffer.Length)
            {
                _file.Write(_flushedOffset, data);
                _flushedOffset += data.Length;
                return;
            }
        }

        data.CopyTo(_writeBuffer.AsSpan(_buffered));
        _buffered += data.Length;
    }

    private void FlushBuffer()
    {
        if (_buffered == 0)
        {
            return;
        }

        _file.Write(_flushedOffset, _writeBuffer.AsSpan(0, _buffered));
        _flushedOffset += _buffered;
        _buffered = 0;
    }
}
