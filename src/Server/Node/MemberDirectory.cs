using System.Text.Json;
using KvStore.Storage;

namespace KvStore.Server.Node;

/// <summary>
/// The members of one Raft group and their addresses, as of the state machine's applied index.
/// Changed only by the group's applied entries (conf changes and address publications), read by
/// any thread.
/// </summary>
/// <remarks>
/// Persisted as <c>members.json</c> in the node's data directory (a JSON array of
/// <see cref="MemberRecord"/>: id, name, peerUrl, clientUrl, isLearner), rewritten atomically
/// (temporary file, fsync, rename) after every change, and carried in snapshots so that a node
/// restored from one knows every address.
/// </remarks>
public sealed class MemberDirectory
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly object _lock = new();
    private readonly string? _path;
    private Dictionary<ulong, MemberRecord> _members = [];

    /// <param name="path">members.json; null keeps the directory in memory only.</param>
    public MemberDirectory(string? path)
    {
        _path = path;
    }

    /// <summary>Raised (on the Raft loop thread) after the set of members or an address changed.</summary>
    public event Action<IReadOnlyList<MemberRecord>>? Changed;

    public bool Exists => _path is not null && File.Exists(_path);

    public IReadOnlyList<MemberRecord> Members
    {
        get
        {
            lock (_lock)
            {
                return _members.Values.OrderBy(m => m.Name, StringComparer.Ordinal).ToArray();
            }
        }
    }

    public MemberRecord? Find(ulong id)
    {
        lock (_lock)
        {
            return _members.GetValueOrDefault(id);
        }
    }

    /// <summary>Loads members.json; false when there is none yet.</summary>
    public bool Load()
    {
        if (!Exists)
        {
            return false;
        }

        byte[] bytes = File.ReadAllBytes(_path!);
        Replace(Decode(bytes, _path!), persist: false);
        return true;
    }

    /// <summary>Adds or replaces one member.</summary>
    public void Upsert(MemberRecord member)
    {
        Update(members => members[member.Id] = member);
    }

    public void Remove(ulong id)
    {
        Update(members => members.Remove(id));
    }

    /// <summary>Replaces every member (snapshot restore, bootstrap).</summary>
    public void Replace(IEnumerable<MemberRecord> members, bool persist = true)
    {
        var map = members.ToDictionary(m => m.Id);
        lock (_lock)
        {
            _members = map;
            if (persist)
            {
                Persist();
            }
        }

        Changed?.Invoke(Members);
    }

    public byte[] Encode()
    {
        return JsonSerializer.SerializeToUtf8Bytes(Members, Json);
    }

    public static IReadOnlyList<MemberRecord> Decode(ReadOnlySpan<byte> bytes, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<MemberRecord[]>(bytes, Json) ?? [];
        }
        catch (JsonException ex)
        {
            throw new StorageCorruptionException(source, ex.BytePositionInLine ?? 0, $"member list is not valid JSON: {ex.Message}");
        }
    }

    private void Update(Action<Dictionary<ulong, MemberRecord>> change)
    {
        lock (_lock)
        {
            var copy = new Dictionary<ulong, MemberRecord>(_members);
            change(copy);
            _members = copy;
            Persist();
        }

        Changed?.Invoke(Members);
    }

    private void Persist()
    {
        if (_path is null)
        {
            return;
        }

        string temp = _path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(JsonSerializer.SerializeToUtf8Bytes(_members.Values.OrderBy(m => m.Name, StringComparer.Ordinal).ToArray(), Json));
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, _path, overwrite: true);
    }
}
