using Wire = KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>The result of one operation of the branch a transaction ran; exactly one property is set.</summary>
/// <param name="Put">Set for a put.</param>
/// <param name="Range">Set for a get or range.</param>
/// <param name="Delete">Set for a delete.</param>
/// <param name="Txn">Set for a nested transaction.</param>
public sealed record TxnOpResult(PutResult? Put, RangeResult? Range, DeleteResult? Delete, TxnResult? Txn)
{
    internal static TxnOpResult FromMessage(Wire.ResponseOp op) => op.ResponseCase switch
    {
        Wire.ResponseOp.ResponseOneofCase.ResponsePut => new(KvRequests.ToResult(op.ResponsePut), null, null, null),
        Wire.ResponseOp.ResponseOneofCase.ResponseRange => new(null, KvRequests.ToResult(op.ResponseRange), null, null),
        Wire.ResponseOp.ResponseOneofCase.ResponseDeleteRange => new(null, null, KvRequests.ToResult(op.ResponseDeleteRange), null),
        Wire.ResponseOp.ResponseOneofCase.ResponseTxn => new(null, null, null, TxnResult.FromMessage(op.ResponseTxn)),
        _ => throw new KvStoreProtocolException(Wire.ErrorCode.Internal, "the server answered a transaction with an empty operation result"),
    };
}
