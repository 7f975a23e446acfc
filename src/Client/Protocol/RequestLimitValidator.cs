using Google.Protobuf;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Client.Protocol;

/// <summary>
/// Checks a request against the key, value and transaction limits of <see cref="ProtocolLimits"/>.
/// The server runs it on every request; a client may run it before sending.
/// </summary>
public static class RequestLimitValidator
{
    /// <summary>Returns null if <paramref name="request"/> respects <paramref name="limits"/>, else the error to answer.</summary>
    public static Error? Validate(IMessage request, ProtocolLimits limits) => request switch
    {
        RangeRequest range => CheckRange(range, limits),
        PutRequest put => CheckPut(put, limits),
        DeleteRangeRequest delete => CheckDeleteRange(delete, limits),
        TxnRequest txn => CheckTxn(txn, limits),
        _ => null,
    };

    private static Error? CheckRange(RangeRequest range, ProtocolLimits limits) =>
        CheckKey(range.Key, "range key", limits) ?? CheckKey(range.RangeEnd, "range end", limits);

    private static Error? CheckPut(PutRequest put, ProtocolLimits limits) =>
        CheckKey(put.Key, "put key", limits) ?? CheckValue(put.Value, "put value", limits);

    private static Error? CheckDeleteRange(DeleteRangeRequest delete, ProtocolLimits limits) =>
        CheckKey(delete.Key, "delete key", limits) ?? CheckKey(delete.RangeEnd, "delete range end", limits);

    private static Error? CheckTxn(TxnRequest txn, ProtocolLimits limits)
    {
        var error = CheckOpCount(txn.Compare.Count, "txn compares", limits)
            ?? CheckOpCount(txn.Success.Count, "txn success ops", limits)
            ?? CheckOpCount(txn.Failure.Count, "txn failure ops", limits);
        if (error is not null)
        {
            return error;
        }

        foreach (var compare in txn.Compare)
        {
            error = CheckKey(compare.Key, "compare key", limits) ?? CheckKey(compare.RangeEnd, "compare range end", limits);
            if (error is null && compare.TargetUnionCase == Messages.Compare.TargetUnionOneofCase.Value)
            {
                error = CheckValue(compare.Value, "compare value", limits);
            }

            if (error is not null)
            {
                return error;
            }
        }

        return CheckOps(txn.Success, limits) ?? CheckOps(txn.Failure, limits);
    }

    private static Error? CheckOps(IEnumerable<RequestOp> ops, ProtocolLimits limits)
    {
        foreach (var op in ops)
        {
            var error = op.RequestCase switch
            {
                RequestOp.RequestOneofCase.RequestRange => CheckRange(op.RequestRange, limits),
                RequestOp.RequestOneofCase.RequestPut => CheckPut(op.RequestPut, limits),
                RequestOp.RequestOneofCase.RequestDeleteRange => CheckDeleteRange(op.RequestDeleteRange, limits),
                RequestOp.RequestOneofCase.RequestTxn => CheckTxn(op.RequestTxn, limits),
                _ => null,
            };
            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }

    private static Error? CheckKey(ByteString key, string what, ProtocolLimits limits) =>
        key.Length > limits.MaxKeyBytes
            ? Error.LimitExceeded(ErrorCode.KeyTooLarge, what, ProtocolLimits.MaxKeyBytesName, limits.MaxKeyBytes, key.Length, "bytes")
            : null;

    private static Error? CheckValue(ByteString value, string what, ProtocolLimits limits) =>
        value.Length > limits.MaxValueBytes
            ? Error.LimitExceeded(ErrorCode.ValueTooLarge, what, ProtocolLimits.MaxValueBytesName, limits.MaxValueBytes, value.Length, "bytes")
            : null;

    private static Error? CheckOpCount(int count, string what, ProtocolLimits limits) =>
        count > limits.MaxOpsPerTxn
            ? Error.LimitExceeded(ErrorCode.TooManyOps, what, ProtocolLimits.MaxOpsPerTxnName, limits.MaxOpsPerTxn, count, "entries")
            : null;
}
