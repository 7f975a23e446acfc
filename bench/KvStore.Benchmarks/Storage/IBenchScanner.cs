namespace KvStore.Benchmarks.Storage;

/// <summary>An ordered cursor reused across seeks, as db_bench's seekrandom reuses one iterator.</summary>
public interface IBenchScanner : IDisposable
{
    /// <summary>
    /// Seeks to the first key ≥ <paramref name="start"/> and reads up to <paramref name="count"/>
    /// entries (key and value) from there. Copies the first key read into <paramref name="firstKey"/>
    /// (so the runner can check the seek landed right), returns the number of entries read and
    /// adds the bytes seen to <paramref name="bytesSeen"/> so the reads cannot be optimised away.
    /// </summary>
    int SeekAndScan(ReadOnlySpan<byte> start, int count, Span<byte> firstKey, ref long bytesSeen);
}
