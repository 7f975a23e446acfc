using Wire = KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>The outcome of a transaction.</summary>
/// <param name="Header">Who answered; <see cref="KvResponseHeader.Revision"/> is the revision after the transaction.</param>
/// <param name="Succeeded">True when every condition held and the Then branch ran; false when the Else branch ran.</param>
/// <param name="Results">One result per operation of the branch that ran, in order.</param>
public sealed record TxnResult(KvResponseHeader Header, bool Succeeded, IReadOnlyList<TxnOpResult> Results)
{
    /// <summary>Converts the wire message.</summary>
    public static TxnResult FromMessage(Wire.TxnResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new(KvResponseHeader.FromMessage(response.Header), response.Succeeded, response.Responses.Select(TxnOpResult.FromMessage).ToArray());
    }
}
