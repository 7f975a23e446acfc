using Google.Protobuf;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Server.Mvcc;

/// <summary>
/// The newest version's metadata of every live key, in memory (etcd's treeIndex keeps the same):
/// a put or a single-key delete or compare then needs no LSM read unless it wants the value.
/// Used by the applying thread only; rebuilt from the LSM at open and after a restore, updated
/// by each commit. About 60 bytes plus the key per live key.
/// </summary>
internal sealed class LatestIndex
{
    private readonly Dictionary<byte[], Entry> _keys = new(ByteKeyComparer.Instance);

    public int Count => _keys.Count;

    /// <summary>Reads the first (newest) version of every key; keys whose newest version is a tombstone are not live.</summary>
    public void Rebuild(IEnumerable<(byte[] Key, byte[] Value)> versionEntries)
    {
        _keys.Clear();
        byte[]? prefix = null;
        foreach ((byte[] key, byte[] value) in versionEntries)
        {
            int prefixLength = MvccKeys.VersionPrefixLength(key);
            if (prefix != null && prefixLength == prefix.Length && key.AsSpan().StartsWith(prefix))
            {
                continue;
            }

            prefix = key[..prefixLength];
            VersionRecord record = VersionRecord.Decode(value, withValue: false);
            if (!record.IsTombstone)
            {
                _keys[MvccKeys.UserKey(prefix)] = new Entry(record.CreateRevision, MvccKeys.Revision(key), record.Version, record.Lease);
            }
        }
    }

    /// <summary>The newest version of <paramref name="key"/> without its value; false if the key is not live.</summary>
    public bool TryGet(byte[] key, out KeyValue kv)
    {
        if (_keys.TryGetValue(key, out Entry e))
        {
            kv = new KeyValue { Key = ByteString.CopyFrom(key), CreateRevision = e.Create, ModRevision = e.Mod, Version = e.Version, Lease = e.Lease };
            return true;
        }

        kv = null!;
        return false;
    }

    /// <summary>Applies a committed command's changes (null = deleted).</summary>
    public void Apply(IEnumerable<KeyValuePair<byte[], KeyValue?>> changes)
    {
        foreach ((byte[] key, KeyValue? kv) in changes)
        {
            if (kv == null)
            {
                _keys.Remove(key);
            }
            else
            {
                _keys[key] = new Entry(kv.CreateRevision, kv.ModRevision, kv.Version, kv.Lease);
            }
        }
    }

    private readonly record struct Entry(long Create, long Mod, long Version, long Lease);
}
