using Google.Protobuf;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Client.Tests.Protocol;

public sealed class MessageFrameTypesTests
{
    [Fact]
    public void Every_request_type_has_a_registered_response_type_one_above_it()
    {
        var requests = Enum.GetValues<FrameType>().Where(MessageFrameTypes.IsRequest).ToList();

        Assert.Equal(27, requests.Count);
        foreach (var request in requests)
        {
            var response = MessageFrameTypes.ResponseTypeOf(request);
            Assert.Equal(request.ToString().Replace("Request", "Response"), response.ToString());
            Assert.True(MessageFrameTypes.TryGetParser(response, out _));
        }
    }

    [Fact]
    public void Every_frame_type_maps_to_the_message_of_the_same_name_and_back()
    {
        foreach (var type in Enum.GetValues<FrameType>())
        {
            Assert.True(MessageFrameTypes.TryGetParser(type, out var parser), $"{type} has no parser");
            IMessage empty = parser.ParseFrom(ReadOnlySpan<byte>.Empty);
            Assert.Equal(type.ToString(), empty.GetType().Name);
            Assert.Equal(type, MessageFrameTypes.GetFrameType(empty));
        }
    }

    [Fact]
    public void Hello_and_responses_are_not_requests()
    {
        Assert.False(MessageFrameTypes.IsRequest(FrameType.Hello));
        Assert.False(MessageFrameTypes.IsRequest(FrameType.PutResponse));
        Assert.False(MessageFrameTypes.IsRequest(FrameType.Error));
        Assert.False(MessageFrameTypes.IsRequest((FrameType)200));
    }

    [Fact]
    public void Errors_map_to_typed_exceptions_and_back()
    {
        var notLeader = KvStoreProtocolException.FromError(new Error { Code = ErrorCode.NotLeader, Message = "follower", LeaderHint = "h:1" });
        var limit = KvStoreProtocolException.FromError(Error.LimitExceeded(ErrorCode.KeyTooLarge, "put key", "MaxKeyBytes", 8, 9, "bytes"));
        var other = KvStoreProtocolException.FromError(Error.Create(ErrorCode.Compacted, "revision 3 is compacted"));

        Assert.Equal("h:1", Assert.IsType<NotLeaderException>(notLeader).LeaderHint);
        Assert.Equal("h:1", notLeader.ToError().LeaderHint);
        var limitException = Assert.IsType<KvStoreLimitExceededException>(limit);
        Assert.Equal(("MaxKeyBytes", 8L, 9L), (limitException.LimitName, limitException.LimitValue, limitException.ActualValue));
        Assert.Equal("put key is 9 bytes, over the limit MaxKeyBytes = 8 bytes", limit.ServerMessage);
        Assert.Equal(limit.ToError(), Error.LimitExceeded(ErrorCode.KeyTooLarge, "put key", "MaxKeyBytes", 8, 9, "bytes"));
        Assert.Equal(ErrorCode.Compacted, other.Code);
        Assert.Contains("revision 3 is compacted", other.Message);
    }
}
