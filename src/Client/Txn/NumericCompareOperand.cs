namespace KvStore.Client;

/// <summary>
/// A numeric property of a key (version, revisions, lease, fencing token), the left side of a
/// transaction condition. The operators build the condition; they do not compare operands.
/// </summary>
public sealed class NumericCompareOperand
{
    internal NumericCompareOperand(ReadOnlyMemory<byte> key, CompareTarget target)
    {
        if (key.IsEmpty)
        {
            throw new ArgumentException("a compared key must not be empty", nameof(key));
        }

        Key = key;
        Target = target;
    }

    /// <summary>The key (or lock name) compared.</summary>
    public ReadOnlyMemory<byte> Key { get; }

    /// <summary>The property compared.</summary>
    public CompareTarget Target { get; }

    /// <summary>The condition "property == <paramref name="right"/>".</summary>
    public static TxnCondition operator ==(NumericCompareOperand left, long right) => left.Is(CompareOperator.Equal, right);

    /// <summary>The condition "property != <paramref name="right"/>".</summary>
    public static TxnCondition operator !=(NumericCompareOperand left, long right) => left.Is(CompareOperator.NotEqual, right);

    /// <summary>The condition "property &lt; <paramref name="right"/>".</summary>
    public static TxnCondition operator <(NumericCompareOperand left, long right) => left.Is(CompareOperator.Less, right);

    /// <summary>The condition "property &gt; <paramref name="right"/>".</summary>
    public static TxnCondition operator >(NumericCompareOperand left, long right) => left.Is(CompareOperator.Greater, right);

    /// <summary>The condition "property <paramref name="op"/> <paramref name="operand"/>", for callers that pick the operator at run time.</summary>
    public TxnCondition Is(CompareOperator op, long operand) => TxnCondition.Numeric(Key, Target, op, operand);

    /// <summary>Reference equality: the operators build conditions, so they cannot also compare operands.</summary>
    public override bool Equals(object? obj) => ReferenceEquals(this, obj);

    /// <summary>Hash of the reference, consistent with <see cref="Equals(object?)"/>.</summary>
    public override int GetHashCode() => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(this);
}
