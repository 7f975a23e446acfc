using System.Text;

namespace KvStore.Client;

/// <summary>Operations of a transaction's Then and Else branches.</summary>
public static class Op
{
    /// <summary>Put <paramref name="value"/> at <paramref name="key"/> (UTF-8).</summary>
    public static TxnOp Put(string key, string value, PutOptions? options = null) =>
        Put(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value), options);

    /// <summary>Put <paramref name="value"/> at <paramref name="key"/>.</summary>
    public static TxnOp Put(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, PutOptions? options = null) =>
        TxnOp.FromPut(KvRequests.Put(key, value, options));

    /// <summary>Read <paramref name="key"/> (UTF-8).</summary>
    public static TxnOp Get(string key, GetOptions? options = null) => Get(Encoding.UTF8.GetBytes(key), options);

    /// <summary>Read <paramref name="key"/>.</summary>
    public static TxnOp Get(ReadOnlyMemory<byte> key, GetOptions? options = null) => TxnOp.FromRange(KvRequests.Get(key, options));

    /// <summary>Read a range.</summary>
    public static TxnOp Range(RangeOptions options) => TxnOp.FromRange(KvRequests.Range(options));

    /// <summary>Delete <paramref name="key"/> (UTF-8), or every key with that prefix.</summary>
    public static TxnOp Delete(string key, DeleteOptions? options = null) => Delete(Encoding.UTF8.GetBytes(key), options);

    /// <summary>Delete <paramref name="key"/>, or the range <paramref name="options"/> describes.</summary>
    public static TxnOp Delete(ReadOnlyMemory<byte> key, DeleteOptions? options = null) => TxnOp.FromDelete(KvRequests.Delete(key, options));
}
