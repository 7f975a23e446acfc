using Google.Protobuf;
using Wire = KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>One condition of a transaction, built with <see cref="Compare"/>; immutable.</summary>
public sealed class TxnCondition
{
    private readonly Wire.Compare _message;

    private TxnCondition(Wire.Compare message) => _message = message;

    /// <summary>The key (or lock name) the condition looks at.</summary>
    public ReadOnlyMemory<byte> Key => _message.Key.Memory;

    /// <summary>The property compared.</summary>
    public CompareTarget Target => (CompareTarget)_message.Target;

    /// <summary>The comparison.</summary>
    public CompareOperator Operator => (CompareOperator)_message.Result;

    /// <summary>The wire message (a copy).</summary>
    public Wire.Compare ToMessage() => _message.Clone();

    internal static TxnCondition Numeric(ReadOnlyMemory<byte> key, CompareTarget target, CompareOperator op, long operand)
    {
        var message = new Wire.Compare
        {
            Key = ByteString.CopyFrom(key.Span),
            Result = (Wire.Compare.Types.CompareResult)op,
            Target = (Wire.Compare.Types.CompareTarget)target,
        };
        switch (target)
        {
            case CompareTarget.Version: message.Version = operand; break;
            case CompareTarget.CreateRevision: message.CreateRevision = operand; break;
            case CompareTarget.ModRevision: message.ModRevision = operand; break;
            case CompareTarget.Lease: message.Lease = operand; break;
            case CompareTarget.FencingToken: message.FencingToken = operand; break;
            default: throw new ArgumentOutOfRangeException(nameof(target), target, "not a numeric compare target");
        }

        return new TxnCondition(message);
    }

    internal static TxnCondition OnValue(ReadOnlyMemory<byte> key, CompareOperator op, ReadOnlyMemory<byte> operand) =>
        new(new Wire.Compare
        {
            Key = ByteString.CopyFrom(key.Span),
            Result = (Wire.Compare.Types.CompareResult)op,
            Target = Wire.Compare.Types.CompareTarget.Value,
            Value = ByteString.CopyFrom(operand.Span),
        });
}
