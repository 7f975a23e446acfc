namespace KvStore.Client.Protocol.Messages;

// Constructors for the generated Error message (kvstore.proto), so that every error names the
// thing that failed in the same way.
public sealed partial class Error
{
    /// <summary>An error with a code and a message.</summary>
    public static Error Create(ErrorCode code, string message) => new() { Code = code, Message = message };

    /// <summary>
    /// A limit violation: "<paramref name="what"/> is <paramref name="actual"/> <paramref name="unit"/>,
    /// over the limit <paramref name="limitName"/> = <paramref name="limit"/>".
    /// </summary>
    public static Error LimitExceeded(ErrorCode code, string what, string limitName, long limit, long actual, string unit) => new()
    {
        Code = code,
        Message = $"{what} is {actual} {unit}, over the limit {limitName} = {limit} {unit}",
        LimitName = limitName,
        LimitValue = limit,
        ActualValue = actual,
    };
}
