using KvStore.Raft.Core;

namespace KvStore.Raft.Tests.Core;

public sealed class ConfChangeCodecTests
{
    public static TheoryData<ConfChange> Changes() =>
    [
        new ConfChange(),
        new ConfChange { Changes = [new(ConfChangeType.AddVoter, 4)] },
        new ConfChange { Changes = [new(ConfChangeType.AddLearner, ulong.MaxValue), new(ConfChangeType.RemoveNode, 1)], UseJoint = true, AutoLeave = false },
        new ConfChange { Changes = [new(ConfChangeType.AddVoter, 300)], Context = new byte[] { 1, 2, 3, 255 } },
    ];

    [Theory]
    [MemberData(nameof(Changes))]
    public void RoundTripPreservesEveryField(ConfChange change)
    {
        var decoded = ConfChangeCodec.Decode(ConfChangeCodec.Encode(change));
        Assert.Equal(change.Changes, decoded.Changes);
        Assert.Equal(change.UseJoint, decoded.UseJoint);
        Assert.Equal(change.AutoLeave, decoded.AutoLeave);
        Assert.Equal(change.Context.ToArray(), decoded.Context.ToArray());
    }

    [Fact]
    public void EncodingIsCompact()
    {
        var bytes = ConfChangeCodec.Encode(new ConfChange { Changes = [new(ConfChangeType.AddVoter, 4)] });
        Assert.Equal(6, bytes.Length); // version, flags, count, type, id, context length
    }

    [Fact]
    public void UnknownVersionIsRejectedWithOffset()
    {
        var bytes = ConfChangeCodec.Encode(new ConfChange());
        bytes[0] = 9;
        var ex = Assert.Throws<FormatException>(() => ConfChangeCodec.Decode(bytes));
        Assert.Contains("offset 0", ex.Message);
    }

    [Fact]
    public void EveryTruncationIsRejected()
    {
        var bytes = ConfChangeCodec.Encode(new ConfChange { Changes = [new(ConfChangeType.AddVoter, 1000), new(ConfChangeType.RemoveNode, 2)], Context = new byte[] { 7, 7 } });
        for (int length = 0; length < bytes.Length; length++)
        {
            Assert.Throws<FormatException>(() => ConfChangeCodec.Decode(bytes.AsSpan(0, length)));
        }
    }

    [Fact]
    public void UnknownChangeTypeIsRejected()
    {
        var bytes = ConfChangeCodec.Encode(new ConfChange { Changes = [new(ConfChangeType.AddVoter, 1)] });
        bytes[3] = 77;
        var ex = Assert.Throws<FormatException>(() => ConfChangeCodec.Decode(bytes));
        Assert.Contains("offset 3", ex.Message);
    }
}
