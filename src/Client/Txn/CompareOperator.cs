namespace KvStore.Client;

/// <summary>How a transaction condition compares the key's property with the operand.</summary>
public enum CompareOperator
{
    /// <summary>Equal.</summary>
    Equal = 0,

    /// <summary>The key's property is greater than the operand.</summary>
    Greater = 1,

    /// <summary>The key's property is less than the operand.</summary>
    Less = 2,

    /// <summary>Not equal.</summary>
    NotEqual = 3,
}
