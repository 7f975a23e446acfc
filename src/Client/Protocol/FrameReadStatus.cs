namespace KvStore.Client.Protocol;

/// <summary>Outcome of <see cref="FrameReader.TryReadFrame"/>.</summary>
public enum FrameReadStatus
{
    /// <summary>A whole frame was read and the buffer advanced past it.</summary>
    Complete,
    /// <summary>The buffer holds less than one frame; read more bytes.</summary>
    Incomplete,
    /// <summary>
    /// The header announces a payload above the limit. The frame's header is returned (so the
    /// caller can name the request id in its error), the buffer is not advanced, and the
    /// stream cannot be trusted any further.
    /// </summary>
    TooLarge,
}
