using System.Globalization;
using System.Text;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Server.Mvcc;

/// <summary>
/// Sequential puts (ZooKeeper's sequential znodes): the key written is the request's key followed
/// by a per-prefix, 20-digit zero-padded number that grows by one per sequential put under that
/// prefix. The counter lives under 'n' | prefix and is never reset — not by deletes, not by
/// compaction — so a number is never handed out twice and keys sort in issue order.
/// </summary>
public sealed partial class MvccWrite
{
    /// <summary>Digits of the number appended (a u64 in decimal, zero-padded: byte order is number order).</summary>
    public const int SequenceDigits = 20;

    // Counters this command advanced, so two sequential puts under one prefix in a txn get two numbers.
    private Dictionary<byte[], long>? _sequences;

    /// <summary>The key a sequential put under <paramref name="prefix"/> writes, advancing the prefix's counter in this command's batch.</summary>
    private byte[] NextSequentialKey(byte[] prefix)
    {
        _sequences ??= new Dictionary<byte[], long>(ByteKeyComparer.Instance);
        byte[] counterKey = MvccKeys.SequenceKey(prefix);
        if (!_sequences.TryGetValue(prefix, out long last))
        {
            last = Store.TryGetRaw(counterKey, out byte[] stored) ? MvccKeys.ReadInt64Value(stored) : 0;
        }

        long next = last + 1;
        _sequences[prefix] = next;
        Batch.Put(counterKey, MvccKeys.Int64Value(next));
        byte[] key = [.. prefix, .. Encoding.ASCII.GetBytes(next.ToString(CultureInfo.InvariantCulture).PadLeft(SequenceDigits, '0'))];
        if (_overlay.ContainsKey(key))
        {
            // An explicit put of the same command already wrote this exact key: one version per key per revision.
            throw new MvccException(ErrorCode.InvalidArgument, $"put: sequential key {Describe(key)} is also written by another operation of this txn");
        }

        return key;
    }
}
