using KvStore.Client.Protocol;

namespace KvStore.Server.Peers;

/// <summary>
/// Frame types of the peer transport, in the range docs/protocol.md reserves for it (128-191).
/// Wire format: do not change these values; add new ones only.
/// </summary>
public static class PeerFrameTypes
{
    /// <summary>Both ends' first frame: a <see cref="PeerHandshake"/>.</summary>
    public const FrameType Handshake = (FrameType)128;

    /// <summary>A batch of Raft messages of any groups, encoded by <c>MessageCodec.EncodeBatch</c>.</summary>
    public const FrameType RaftBatch = (FrameType)130;
}
