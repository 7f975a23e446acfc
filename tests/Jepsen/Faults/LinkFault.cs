namespace KvStore.Jepsen.Faults;

/// <summary>
/// What the proxy does to the frames of one DIRECTED peer link (A to B). Frames are whole Raft
/// batches, so dropping one is exactly a lost message, which Raft must tolerate; bytes inside a
/// frame are never touched (a TCP stream cannot lose bytes in the middle without corrupting it).
/// </summary>
/// <param name="Cut">Every frame after the handshake is discarded: A's messages never reach B,
/// while B's still reach A over the same connection (a one-way partition).</param>
/// <param name="DropProbability">Share of frames discarded at random, 0 to 1.</param>
/// <param name="Delay">Every frame is held this long before it is forwarded (order is kept).</param>
public readonly record struct LinkFault(bool Cut, double DropProbability, TimeSpan Delay)
{
    public static LinkFault None => default;

    public bool IsNone => !Cut && DropProbability <= 0 && Delay <= TimeSpan.Zero;

    public override string ToString() =>
        Cut ? "cut" : string.Join(' ', new[]
        {
            DropProbability > 0 ? $"drop {DropProbability:P0}" : null,
            Delay > TimeSpan.Zero ? $"delay {Delay.TotalMilliseconds:0} ms" : null,
        }.Where(s => s is not null).DefaultIfEmpty("none"));
}
