namespace KvStore.Client;

/// <summary>
/// What a watch delivers: every selected event of one revision (never split), or a progress
/// notification. Batches arrive in increasing <see cref="Revision"/>, each event exactly once,
/// with no gap — across reconnects and node failures too.
/// </summary>
/// <param name="Revision">The events' revision; for progress, the bookmark R: no later batch holds an event of revision ≤ R.</param>
/// <param name="Events">The events, in the order the revision made them; empty for progress.</param>
/// <param name="IsProgress">A progress notification rather than events.</param>
public sealed record WatchBatch(long Revision, IReadOnlyList<WatchEvent> Events, bool IsProgress);
