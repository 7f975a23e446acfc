using Wire = KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>One operation of a transaction branch, built with <see cref="Op"/>; immutable.</summary>
public sealed class TxnOp
{
    private readonly Wire.RequestOp _message;

    private TxnOp(Wire.RequestOp message) => _message = message;

    /// <summary>True for a put or delete (the transaction then changes the store).</summary>
    public bool IsWrite => _message.RequestCase is Wire.RequestOp.RequestOneofCase.RequestPut or Wire.RequestOp.RequestOneofCase.RequestDeleteRange;

    /// <summary>The wire message (a copy).</summary>
    public Wire.RequestOp ToMessage() => _message.Clone();

    internal static TxnOp FromPut(Wire.PutRequest request) => new(new Wire.RequestOp { RequestPut = request });

    internal static TxnOp FromRange(Wire.RangeRequest request) => new(new Wire.RequestOp { RequestRange = request });

    internal static TxnOp FromDelete(Wire.DeleteRangeRequest request) => new(new Wire.RequestOp { RequestDeleteRange = request });
}
