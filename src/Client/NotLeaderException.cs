using KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>The member that was asked is not the leader; <see cref="LeaderHint"/> names the leader if it knows one.</summary>
public sealed class NotLeaderException : KvStoreProtocolException
{
    public NotLeaderException(string message, string? leaderHint)
        : base(ErrorCode.NotLeader, message)
    {
        LeaderHint = leaderHint;
    }

    /// <summary>The leader's client endpoint ("host:port"), or null if unknown.</summary>
    public string? LeaderHint { get; }

    public override Error ToError() => new() { Code = Code, Message = ServerMessage, LeaderHint = LeaderHint ?? string.Empty };
}
