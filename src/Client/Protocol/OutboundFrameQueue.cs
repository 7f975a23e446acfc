using System.IO.Pipelines;
using System.Threading.Channels;

namespace KvStore.Client.Protocol;

/// <summary>
/// Many producers, one writer loop: frames queued by any thread are serialized into the
/// connection's PipeWriter and flushed once per batch (everything queued by the time the loop
/// gets to run), never once per frame. This is how pipelined responses or requests share one
/// socket write.
/// </summary>
public sealed class OutboundFrameQueue
{
    // A batch may grow until this many bytes are buffered; then it is flushed so that one
    // burst of frames cannot buffer without bound in the pipe.
    private const int MaxUnflushedBytes = 256 * 1024;

    private readonly Channel<OutboundFrame> _frames = Channel.CreateUnbounded<OutboundFrame>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false, AllowSynchronousContinuations = false });

    /// <summary>Queues a frame. False if the queue has been completed (the connection is closing).</summary>
    public bool TryEnqueue(in OutboundFrame frame) => _frames.Writer.TryWrite(frame);

    /// <summary>No more frames will be queued; the writer loop ends after writing what is queued.</summary>
    public void Complete() => _frames.Writer.TryComplete();

    /// <summary>
    /// Writes queued frames to <paramref name="output"/> until the queue is completed and drained,
    /// the pipe's reader goes away or <paramref name="cancellationToken"/> fires.
    /// </summary>
    public async Task RunAsync(PipeWriter output, CancellationToken cancellationToken)
    {
        var reader = _frames.Reader;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                long unflushed = 0;
                while (reader.TryRead(out var frame))
                {
                    unflushed += FrameWriter.Write(output, frame.Type, frame.RequestId, frame.Message);
                    frame.Written?.Invoke();
                    if (unflushed >= MaxUnflushedBytes)
                    {
                        if ((await output.FlushAsync(cancellationToken).ConfigureAwait(false)).IsCompleted)
                        {
                            return;
                        }

                        unflushed = 0;
                    }
                }

                if ((await output.FlushAsync(cancellationToken).ConfigureAwait(false)).IsCompleted)
                {
                    return;
                }
            }
        }
        finally
        {
            Complete();
            // Release whoever waits for frames that will never be written.
            while (reader.TryRead(out var dropped))
            {
                dropped.Written?.Invoke();
            }
        }
    }
}
