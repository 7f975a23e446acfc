using Google.Protobuf;

namespace KvStore.Client.Protocol;

/// <summary>
/// A frame waiting in an <see cref="OutboundFrameQueue"/>: the message is serialized only when
/// the writer loop copies it into the pipe. <see cref="Written"/>, if set, runs after the frame
/// has been handed to the pipe (or dropped because the connection closed).
/// </summary>
public readonly record struct OutboundFrame(FrameType Type, ulong RequestId, IMessage Message, Action? Written = null);
