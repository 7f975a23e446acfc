using KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>The server answered a request with an <c>Error</c> (or the client refused to send it for the same reason).</summary>
public class KvStoreProtocolException : KvStoreException
{
    public KvStoreProtocolException(ErrorCode code, string message, Exception? innerException = null)
        : base($"{code}: {message}", innerException)
    {
        Code = code;
        ServerMessage = message;
    }

    /// <summary>What went wrong, as the server classified it.</summary>
    public ErrorCode Code { get; }

    /// <summary>The server's message, without the code prefix.</summary>
    public string ServerMessage { get; }

    /// <summary>The typed exception for <paramref name="error"/>.</summary>
    public static KvStoreProtocolException FromError(Error error) => error.Code switch
    {
        ErrorCode.NotLeader => new NotLeaderException(error.Message, string.IsNullOrEmpty(error.LeaderHint) ? null : error.LeaderHint),
        ErrorCode.FrameTooLarge or ErrorCode.KeyTooLarge or ErrorCode.ValueTooLarge or ErrorCode.TooManyOps or ErrorCode.TooManyInFlight =>
            new KvStoreLimitExceededException(error.Code, error.Message, error.LimitName, error.LimitValue, error.ActualValue),
        ErrorCode.Compacted => new KvStoreCompactedException(error.Message),
        _ => new KvStoreProtocolException(error.Code, error.Message),
    };

    /// <summary>The <c>Error</c> message that carries this exception over the wire.</summary>
    public virtual Error ToError() => Error.Create(Code, ServerMessage);
}
