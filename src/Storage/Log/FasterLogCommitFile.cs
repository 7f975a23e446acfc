using System.Buffers.Binary;
using System.Runtime.InteropServices;
using FASTER.core;
using Microsoft.Win32.SafeHandles;

namespace KvStore.Storage.Log;

/// <summary>
/// FasterLog's commit metadata in one preallocated file of two alternating slots, so a commit is one
/// in-place write and one fdatasync. FasterLog's own commit manager instead creates a new file per
/// commit (O_SYNC) and deletes the old one without ever fsyncing the directory, so after a power loss
/// the newest commit file, and with it acknowledged data, could be gone.
/// </summary>
/// <remarks>
/// Format of <c>commit</c> (2 × 64 KiB, created and its directory fsynced once):
/// <code>
/// slot (at (commit_num mod 2) × 65536) := crc:u32 | commit_num:i64 | length:u32 | metadata[length]
///     crc = Crc32C.Mask(CRC-32C of commit_num | length | metadata); little-endian
/// </code>
/// A torn slot write fails its CRC and recovery uses the other slot: the previous commit, which is
/// correct because the torn one was never acknowledged.
/// </remarks>
internal sealed class FasterLogCommitFile : ILogCommitManager
{
    private const int SlotSize = 64 << 10;
    private const int SlotHeaderSize = 16;

    private readonly object _lock = new();
    private readonly string _path;
    private readonly SafeFileHandle _handle;

    public FasterLogCommitFile(string directory)
    {
        _path = $"{directory}/commit";
        bool created = !File.Exists(_path);
        _handle = File.OpenHandle(_path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        if (created || RandomAccess.GetLength(_handle) < 2 * SlotSize)
        {
            // Full size up front: later commits overwrite in place and never change the file's size.
            RandomAccess.SetLength(_handle, 2 * SlotSize);
            RandomAccess.FlushToDisk(_handle);
            IO.PhysicalFileSystem.Instance.SyncDirectory(directory);
        }
    }

    public string Path => _path;

    public void Commit(long beginAddress, long untilAddress, byte[] commitMetadata, long commitNum, bool forceWriteMetadata)
    {
        if (commitMetadata.Length > SlotSize - SlotHeaderSize)
        {
            throw new StorageException($"FasterLog commit metadata of {commitMetadata.Length} bytes does not fit a slot of {_path}");
        }

        var slot = new byte[SlotHeaderSize + commitMetadata.Length];
        BinaryPrimitives.WriteInt64LittleEndian(slot.AsSpan(4), commitNum);
        BinaryPrimitives.WriteUInt32LittleEndian(slot.AsSpan(12), (uint)commitMetadata.Length);
        commitMetadata.CopyTo(slot, SlotHeaderSize);
        BinaryPrimitives.WriteUInt32LittleEndian(slot, Crc32C.Mask(Crc32C.Compute(slot.AsSpan(4))));
        lock (_lock)
        {
            RandomAccess.Write(_handle, slot, SlotOffset(commitNum));
            DataSync();
        }
    }

    public IEnumerable<long> ListCommits()
    {
        lock (_lock)
        {
            return ReadSlots().Select(s => s.CommitNum).OrderDescending().ToList();
        }
    }

    public byte[] GetCommitMetadata(long commitNum)
    {
        lock (_lock)
        {
            foreach (var (number, metadata) in ReadSlots())
            {
                if (number == commitNum)
                {
                    return metadata;
                }
            }
        }

        throw new StorageException($"FasterLog commit {commitNum} is not in {_path}");
    }

    // A slot is reused two commits later; there is nothing to delete.
    public void RemoveCommit(long commitNum)
    {
    }

    public void RemoveAllCommits()
    {
        lock (_lock)
        {
            RandomAccess.Write(_handle, new byte[2 * SlotSize], 0);
            DataSync();
        }
    }

    public void OnRecovery(long commitNum)
    {
    }

    public void Dispose() => _handle.Dispose();

    private static long SlotOffset(long commitNum) => (commitNum & 1) * SlotSize;

    private List<(long CommitNum, byte[] Metadata)> ReadSlots()
    {
        var slots = new List<(long, byte[])>(2);
        var buffer = new byte[SlotSize];
        for (int slot = 0; slot < 2; slot++)
        {
            int read = RandomAccess.Read(_handle, buffer, slot * (long)SlotSize);
            if (read < SlotHeaderSize)
            {
                continue;
            }

            uint length = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(12));
            if (length > read - SlotHeaderSize)
            {
                continue;
            }

            uint crc = Crc32C.Unmask(BinaryPrimitives.ReadUInt32LittleEndian(buffer));
            if (crc != Crc32C.Compute(buffer.AsSpan(4, 12 + (int)length)))
            {
                continue; // never written, or torn by a crash during the commit that wrote it
            }

            long commitNum = BinaryPrimitives.ReadInt64LittleEndian(buffer.AsSpan(4));
            slots.Add((commitNum, buffer.AsSpan(SlotHeaderSize, (int)length).ToArray()));
        }

        return slots;
    }

    /// <summary>fdatasync where available: the file's size never changes, so its metadata needs no journal commit.</summary>
    private void DataSync()
    {
        if (OperatingSystem.IsLinux())
        {
            if (Native.fdatasync((int)_handle.DangerousGetHandle()) != 0)
            {
                throw new IOException($"fdatasync of {_path} failed (errno {Marshal.GetLastPInvokeError()})");
            }

            return;
        }

        RandomAccess.FlushToDisk(_handle);
    }

    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int fdatasync(int fd);
    }
}
