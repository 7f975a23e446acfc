using System.Text;

namespace KvStore.Client;

/// <summary>
/// The value of a key, the left side of a transaction condition compared byte by byte. The
/// operators build the condition; they do not compare operands.
/// </summary>
public sealed class ValueCompareOperand
{
    internal ValueCompareOperand(ReadOnlyMemory<byte> key)
    {
        if (key.IsEmpty)
        {
            throw new ArgumentException("a compared key must not be empty", nameof(key));
        }

        Key = key;
    }

    /// <summary>The key whose value is compared.</summary>
    public ReadOnlyMemory<byte> Key { get; }

    /// <summary>The condition "value == <paramref name="right"/>" (UTF-8).</summary>
    public static TxnCondition operator ==(ValueCompareOperand left, string right) => left.Is(CompareOperator.Equal, Encoding.UTF8.GetBytes(right));

    /// <summary>The condition "value != <paramref name="right"/>" (UTF-8).</summary>
    public static TxnCondition operator !=(ValueCompareOperand left, string right) => left.Is(CompareOperator.NotEqual, Encoding.UTF8.GetBytes(right));

    /// <summary>The condition "value &lt; <paramref name="right"/>" (UTF-8 bytes, lexicographic).</summary>
    public static TxnCondition operator <(ValueCompareOperand left, string right) => left.Is(CompareOperator.Less, Encoding.UTF8.GetBytes(right));

    /// <summary>The condition "value &gt; <paramref name="right"/>" (UTF-8 bytes, lexicographic).</summary>
    public static TxnCondition operator >(ValueCompareOperand left, string right) => left.Is(CompareOperator.Greater, Encoding.UTF8.GetBytes(right));

    /// <summary>The condition "value == <paramref name="right"/>".</summary>
    public static TxnCondition operator ==(ValueCompareOperand left, byte[] right) => left.Is(CompareOperator.Equal, right);

    /// <summary>The condition "value != <paramref name="right"/>".</summary>
    public static TxnCondition operator !=(ValueCompareOperand left, byte[] right) => left.Is(CompareOperator.NotEqual, right);

    /// <summary>The condition "value &lt; <paramref name="right"/>" (lexicographic).</summary>
    public static TxnCondition operator <(ValueCompareOperand left, byte[] right) => left.Is(CompareOperator.Less, right);

    /// <summary>The condition "value &gt; <paramref name="right"/>" (lexicographic).</summary>
    public static TxnCondition operator >(ValueCompareOperand left, byte[] right) => left.Is(CompareOperator.Greater, right);

    /// <summary>The condition "value <paramref name="op"/> <paramref name="operand"/>".</summary>
    public TxnCondition Is(CompareOperator op, ReadOnlyMemory<byte> operand) => TxnCondition.OnValue(Key, op, operand);

    /// <summary>Reference equality: the operators build conditions, so they cannot also compare operands.</summary>
    public override bool Equals(object? obj) => ReferenceEquals(this, obj);

    /// <summary>Hash of the reference, consistent with <see cref="Equals(object?)"/>.</summary>
    public override int GetHashCode() => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(this);
}
