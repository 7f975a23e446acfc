namespace KvStore.Raft.Codec;

/// <summary>
/// Bytes handed to <see cref="MessageCodec"/> are not a valid encoding: truncated, garbage,
/// an unknown version, a length that runs past the end of the input or past a limit.
/// Names the byte offset where decoding stopped so a bad frame can be found in a capture.
/// </summary>
public sealed class MessageFormatException : Exception
{
    public MessageFormatException(long offset, string what)
        : base($"malformed Raft message at byte {offset}: {what}")
    {
        Offset = offset;
    }

    /// <summary>Offset, from the start of the decoded buffer, of the field that failed.</summary>
    public long Offset { get; }
}
