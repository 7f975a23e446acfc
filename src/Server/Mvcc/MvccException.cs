using KvStore.Client.Protocol.Messages;

namespace KvStore.Server.Mvcc;

/// <summary>
/// A request the store refuses (bad argument, compacted or future revision, missing key). The
/// state machine turns it into an <see cref="Error"/> result; it never leaves Apply.
/// </summary>
public sealed class MvccException(ErrorCode code, string message) : Exception(message)
{
    public ErrorCode Code { get; } = code;

    public Error ToError() => new() { Code = Code, Message = Message };
}
