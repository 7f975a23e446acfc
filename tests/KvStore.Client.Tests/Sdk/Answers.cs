using Google.Protobuf;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Client.Tests.Sdk;

/// <summary>Scripted member behaviours shared by the SDK tests.</summary>
internal static class Answers
{
    public static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(15);

    /// <summary>A follower: every request gets NOT_LEADER, with <paramref name="leaderHint"/> if given.</summary>
    public static Func<FrameType, IMessage, CancellationToken, ValueTask<IMessage>> Follower(string? leaderHint) =>
        (_, _, _) => throw new NotLeaderException("this member is a follower", leaderHint);

    /// <summary>A leader over an in-memory map that applies each (client id, sequence) once, like the state machine.</summary>
    public static Func<FrameType, IMessage, CancellationToken, ValueTask<IMessage>> Leader(FakeStore store) =>
        (type, request, _) => ValueTask.FromResult(store.Apply(type, request));

    /// <summary>Never answers until the connection closes (a partitioned or stuck member).</summary>
    public static Func<FrameType, IMessage, CancellationToken, ValueTask<IMessage>> Silent() =>
        async (_, _, cancellationToken) =>
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        };

    public static ByteString B(string text) => ByteString.CopyFromUtf8(text);
}
