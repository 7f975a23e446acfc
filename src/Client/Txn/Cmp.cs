using System.Text;

namespace KvStore.Client;

/// <summary>
/// Conditions of a transaction, written as comparisons:
/// <c>Cmp.Version("k") == 3</c>, <c>Cmp.Value("k") != "x"</c>, <c>Cmp.ModRevision("k") &lt; 5</c>.
/// </summary>
/// <remarks>
/// As in etcd, a key that does not exist has version, create revision and mod revision 0, so
/// <c>Cmp.Version("k") == 0</c> reads "k does not exist" (the usual create-if-absent guard).
/// </remarks>
public static class Cmp
{
    /// <summary>The key's version (modifications since creation; 0 when absent).</summary>
    public static NumericCompareOperand Version(string key) => Version(Utf8(key));

    /// <summary>The key's version (modifications since creation; 0 when absent).</summary>
    public static NumericCompareOperand Version(ReadOnlyMemory<byte> key) => new(key, CompareTarget.Version);

    /// <summary>The revision of the key's creation (0 when absent).</summary>
    public static NumericCompareOperand CreateRevision(string key) => CreateRevision(Utf8(key));

    /// <summary>The revision of the key's creation (0 when absent).</summary>
    public static NumericCompareOperand CreateRevision(ReadOnlyMemory<byte> key) => new(key, CompareTarget.CreateRevision);

    /// <summary>The revision of the key's last modification (0 when absent).</summary>
    public static NumericCompareOperand ModRevision(string key) => ModRevision(Utf8(key));

    /// <summary>The revision of the key's last modification (0 when absent).</summary>
    public static NumericCompareOperand ModRevision(ReadOnlyMemory<byte> key) => new(key, CompareTarget.ModRevision);

    /// <summary>The lease attached to the key (0 when none).</summary>
    public static NumericCompareOperand Lease(string key) => Lease(Utf8(key));

    /// <summary>The lease attached to the key (0 when none).</summary>
    public static NumericCompareOperand Lease(ReadOnlyMemory<byte> key) => new(key, CompareTarget.Lease);

    /// <summary>
    /// The current fencing token of the lock <paramref name="lockName"/>:
    /// <c>Cmp.FencingToken(lock) == token</c> guards a write with "I still hold the lock".
    /// </summary>
    public static NumericCompareOperand FencingToken(string lockName) => FencingToken(Utf8(lockName));

    /// <summary>The current fencing token of the lock <paramref name="lockName"/>.</summary>
    public static NumericCompareOperand FencingToken(ReadOnlyMemory<byte> lockName) => new(lockName, CompareTarget.FencingToken);

    /// <summary>
    /// "Lock <paramref name="lockName"/> is held with <paramref name="fencingToken"/>": the guard of a
    /// write made under a lock. The store refuses the write once the lock was released or lost.
    /// </summary>
    public static TxnCondition Fence(string lockName, long fencingToken) => FencingToken(lockName) == fencingToken;

    /// <inheritdoc cref="Fence(string, long)"/>
    public static TxnCondition Fence(ReadOnlyMemory<byte> lockName, long fencingToken) => FencingToken(lockName) == fencingToken;

    /// <summary>The key's value, compared byte by byte.</summary>
    public static ValueCompareOperand Value(string key) => Value(Utf8(key));

    /// <summary>The key's value, compared byte by byte.</summary>
    public static ValueCompareOperand Value(ReadOnlyMemory<byte> key) => new(key);

    private static byte[] Utf8(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Encoding.UTF8.GetBytes(key);
    }
}
