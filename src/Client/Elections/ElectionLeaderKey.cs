using System.Text;
using Google.Protobuf;
using Wire = KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>
/// What a won campaign returns: the election, the leader key, its create revision (the
/// election's fencing token: <see cref="Fence"/> guards writes made as leader) and the lease.
/// </summary>
public sealed record ElectionLeaderKey(ReadOnlyMemory<byte> Name, ReadOnlyMemory<byte> Key, long Revision, long Lease)
{
    /// <summary>The election's name (UTF-8 decoded).</summary>
    public string NameText => Encoding.UTF8.GetString(Name.Span);

    /// <summary>The leader key (UTF-8 decoded).</summary>
    public string KeyText => Encoding.UTF8.GetString(Key.Span);

    /// <summary>A transaction condition that holds only while this candidate leads.</summary>
    public TxnCondition Fence => Cmp.Fence(Name, Revision);

    internal Wire.LeaderKey ToMessage() => new()
    {
        Name = ByteString.CopyFrom(Name.Span),
        Key = ByteString.CopyFrom(Key.Span),
        Rev = Revision,
        Lease = Lease,
    };

    internal static ElectionLeaderKey FromMessage(Wire.LeaderKey leader) =>
        new(leader.Name.ToByteArray(), leader.Key.ToByteArray(), leader.Rev, leader.Lease);
}
