using KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>A request exceeded one of the protocol limits (<see cref="Protocol.ProtocolLimits"/>).</summary>
public sealed class KvStoreLimitExceededException : KvStoreProtocolException
{
    public KvStoreLimitExceededException(ErrorCode code, string message, string limitName, long limitValue, long actualValue)
        : base(code, message)
    {
        LimitName = limitName;
        LimitValue = limitValue;
        ActualValue = actualValue;
    }

    /// <summary>The limit's name, e.g. <c>MaxKeyBytes</c>.</summary>
    public string LimitName { get; }

    /// <summary>The limit's value.</summary>
    public long LimitValue { get; }

    /// <summary>The size or count the request had.</summary>
    public long ActualValue { get; }

    public override Error ToError() => new()
    {
        Code = Code,
        Message = ServerMessage,
        LimitName = LimitName,
        LimitValue = LimitValue,
        ActualValue = ActualValue,
    };
}
