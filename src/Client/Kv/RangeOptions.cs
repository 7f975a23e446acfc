using System.Text;

namespace KvStore.Client;

/// <summary>
/// A range read: one key, every key with a prefix (<see cref="Prefix"/>), or the keys in
/// [<see cref="Key"/>, <see cref="RangeEnd"/>).
/// </summary>
public sealed record RangeOptions
{
    /// <summary>The first key of the range (or the prefix, or the single key).</summary>
    public ReadOnlyMemory<byte> Key { get; init; }

    /// <summary>Exclusive end of the range; empty means "only <see cref="Key"/>" unless <see cref="Prefix"/> is set.</summary>
    public ReadOnlyMemory<byte> RangeEnd { get; init; }

    /// <summary>Read every key that starts with <see cref="Key"/> (overrides <see cref="RangeEnd"/>).</summary>
    public bool Prefix { get; init; }

    /// <summary>Return at most this many keys; 0 means no limit.</summary>
    public long Limit { get; init; }

    /// <summary>Read at this past revision; 0 means the newest.</summary>
    public long Revision { get; init; }

    /// <summary>Serve from the answering member's local state (see <see cref="GetOptions.Serializable"/>).</summary>
    public bool Serializable { get; init; }

    /// <summary>Return keys and metadata without values.</summary>
    public bool KeysOnly { get; init; }

    /// <summary>Return only the number of keys in the range.</summary>
    public bool CountOnly { get; init; }

    /// <summary>Order of the returned keys.</summary>
    public SortOrder SortOrder { get; init; }

    /// <summary>Field the order applies to.</summary>
    public SortTarget SortTarget { get; init; }

    /// <summary>The range of the single key <paramref name="key"/>.</summary>
    public static RangeOptions ForKey(string key) => new() { Key = Encoding.UTF8.GetBytes(key) };

    /// <summary>The range of every key starting with <paramref name="prefix"/>.</summary>
    public static RangeOptions ForPrefix(string prefix) => new() { Key = Encoding.UTF8.GetBytes(prefix), Prefix = true };

    /// <summary>The keys in [<paramref name="start"/>, <paramref name="end"/>).</summary>
    public static RangeOptions Between(string start, string end) =>
        new() { Key = Encoding.UTF8.GetBytes(start), RangeEnd = Encoding.UTF8.GetBytes(end) };
}
