using Google.Protobuf;
using KvStore.Server.Mvcc;

namespace KvStore.Server.Watch;

/// <summary>One watch of one connection: what it selects and how far it has been delivered.</summary>
/// <remarks>
/// A watcher is either <b>synced</b> — in the hub's live index; the dispatcher queues its events
/// under the hub's lock, so it has delivered every matching event up to the hub's dispatched
/// revision — or <b>catching up</b> — out of the index; its own task reads history from
/// <see cref="Next"/> on and rejoins the index, under the lock, once <see cref="Next"/> has
/// passed the dispatched revision. Exactly one of the two owns <see cref="Next"/> at a time.
/// </remarks>
internal sealed class Watcher
{
    public Watcher(long id, WatchStream stream, KeyRange range, bool noPut, bool noDelete, bool prevKv, bool progressNotify, long next)
    {
        Id = id;
        Stream = stream;
        Range = range;
        SingleKey = range.IsSingleKey ? ByteString.CopyFrom(range.Begin) : null;
        NoPut = noPut;
        NoDelete = noDelete;
        PrevKv = prevKv;
        ProgressNotify = progressNotify;
        Next = next;
        Stop = CancellationTokenSource.CreateLinkedTokenSource(stream.Sink.Closed);
    }

    public long Id { get; }

    public WatchStream Stream { get; }

    public KeyRange Range { get; }

    /// <summary>The key of a single-key watch (the index's dictionary key), else null.</summary>
    public ByteString? SingleKey { get; }

    public bool NoPut { get; }

    public bool NoDelete { get; }

    public bool PrevKv { get; }

    public bool ProgressNotify { get; }

    /// <summary>The first revision not yet delivered. Invariant: every matching event below it has been queued, in order, once.</summary>
    public long Next { get; set; }

    public bool Synced { get; set; }

    public bool Removed { get; set; }

    /// <summary>A progress notification was asked for while catching up: sent when it rejoins.</summary>
    public bool ProgressPending { get; set; }

    /// <summary>Whether a frame went out since the last progress tick (an idle watch gets a notification).</summary>
    public bool SentSinceTick { get; set; }

    /// <summary>Cancels the catch-up task: on cancel, server-side cancel or connection close.</summary>
    public CancellationTokenSource Stop { get; }

    public bool Selects(MvccEvent e) =>
        (e.Type == MvccEventType.Put ? !NoPut : !NoDelete) && Range.Contains(e.Kv.Key.Span);
}
