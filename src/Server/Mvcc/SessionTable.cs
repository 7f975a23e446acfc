using KvStore.Client.Protocol.Messages;
using KvStore.Server.Protos;
using KvStore.Storage.Lsm;

namespace KvStore.Server.Mvcc;

/// <summary>
/// Exactly-once client sessions (Raft dissertation §6.3), kept in the LSM next to the data so
/// they survive restarts and travel in snapshots. Time is the state machine's own clock: the
/// largest issued_at_unix_ms of any command so far (a leader with a slow clock never moves it
/// back), so every replica expires the same sessions at the same log index.
/// </summary>
/// <remarks>
/// A command for an unknown client id starts a session, unless the id belongs to an expired
/// session (remembered for <see cref="KvStateMachineOptions.ExpiredSessionRetention"/>): then it
/// gets SESSION_EXPIRED, so a late retry of an applied command is never applied a second time.
/// </remarks>
internal sealed class SessionTable
{
    private readonly MvccStore _store;
    private readonly long _ttlMs;
    private readonly long _retentionMs;
    private long _clock;

    public SessionTable(MvccStore store, KvStateMachineOptions options)
    {
        _store = store;
        _ttlMs = (long)options.SessionTtl.TotalMilliseconds;
        _retentionMs = (long)options.ExpiredSessionRetention.TotalMilliseconds;
        Reload();
    }

    /// <summary>The state machine clock (unix ms).</summary>
    public long Clock => _clock;

    /// <summary>Re-reads the clock after the store's contents were replaced.</summary>
    public void Reload() =>
        _clock = _store.TryGetRaw(MvccKeys.SessionClockKey, out byte[] value) ? MvccKeys.ReadInt64Value(value) : 0;

    /// <summary>Decides, without writing, what a command with this session and clock input gets.</summary>
    public SessionPlan Plan(ulong clientId, ulong sequence, long issuedAtUnixMs)
    {
        long now = Math.Max(_clock, issuedAtUnixMs);
        var due = _store.RawRange(MvccKeys.DeadlineKey(0, 0), MvccKeys.DeadlineKey(now + 1, 0)).ToList();
        var plan = new SessionPlan(now, due);
        if (clientId == 0)
        {
            plan.Verdict = SessionVerdict.NoSession;
            return plan;
        }

        if (due.Any(d => MvccKeys.ClientOfDeadline(d.Key) == clientId && d.Value[0] == 0))
        {
            plan.Verdict = SessionVerdict.Expired;
            return plan;
        }

        if (_store.TryGetRaw(MvccKeys.SessionKey(clientId), out byte[] stored))
        {
            plan.Existing = SessionRecord.Decode(stored);
            plan.Verdict = sequence == plan.Existing.LastSequence ? SessionVerdict.Duplicate
                : sequence < plan.Existing.LastSequence ? SessionVerdict.Stale
                : SessionVerdict.Apply;
            return plan;
        }

        plan.Verdict = _store.TryGetRaw(MvccKeys.ExpiredSessionKey(clientId), out _) ? SessionVerdict.Expired : SessionVerdict.Apply;
        return plan;
    }

    /// <summary>Adds the plan's clock, expiries and (for an applied command) the session's new record to <paramref name="batch"/>.</summary>
    public void Write(SessionPlan plan, ulong clientId, ulong sequence, KvCommandResult? result, WriteBatch batch)
    {
        if (plan.Now != _clock)
        {
            batch.Put(MvccKeys.SessionClockKey, MvccKeys.Int64Value(plan.Now));
        }

        foreach ((byte[] deadlineKey, byte[] kind) in plan.Due)
        {
            ulong client = MvccKeys.ClientOfDeadline(deadlineKey);
            batch.Delete(deadlineKey);
            if (kind[0] == 0)
            {
                // A live session expires: keep a marker so its late retries are refused.
                long markerDeadline = plan.Now + _retentionMs;
                batch.Delete(MvccKeys.SessionKey(client));
                batch.Put(MvccKeys.ExpiredSessionKey(client), MvccKeys.Int64Value(markerDeadline));
                batch.Put(MvccKeys.DeadlineKey(markerDeadline, client), [1]);
            }
            else
            {
                batch.Delete(MvccKeys.ExpiredSessionKey(client));
            }
        }

        if (plan.Verdict == SessionVerdict.Apply && result != null)
        {
            if (plan.Existing != null)
            {
                batch.Delete(MvccKeys.DeadlineKey(plan.Existing.DeadlineUnixMs, clientId));
            }

            long deadline = plan.Now + _ttlMs;
            batch.Put(MvccKeys.SessionKey(clientId), new SessionRecord(sequence, plan.Now, deadline, result).Encode());
            batch.Put(MvccKeys.DeadlineKey(deadline, clientId), [0]);
        }
    }

    /// <summary>Called once the batch holding <see cref="Write"/>'s changes is committed.</summary>
    public void Committed(SessionPlan plan) => _clock = plan.Now;

    public static Error StaleError(ulong clientId, ulong sequence, ulong last) => new()
    {
        Code = ErrorCode.InvalidArgument,
        Message = $"stale sequence: client {clientId} sent sequence {sequence}, but sequence {last} was already applied",
    };

    public static Error ExpiredError(ulong clientId) => new()
    {
        Code = ErrorCode.SessionExpired,
        Message = $"session of client {clientId} expired; open a new session",
    };
}

internal enum SessionVerdict
{
    /// <summary>client_id 0: applied without deduplication.</summary>
    NoSession,

    /// <summary>A new sequence (or a new session): apply and remember the answer.</summary>
    Apply,

    /// <summary>The last applied sequence again: answer with the saved result, apply nothing.</summary>
    Duplicate,

    /// <summary>Lower than the last applied sequence: refuse.</summary>
    Stale,

    /// <summary>The session expired: refuse.</summary>
    Expired,
}

internal sealed class SessionPlan(long now, List<(byte[] Key, byte[] Value)> due)
{
    public long Now { get; } = now;

    /// <summary>Deadline-index entries due at <see cref="Now"/>: sessions and expired markers to drop.</summary>
    public List<(byte[] Key, byte[] Value)> Due { get; } = due;

    public SessionVerdict Verdict { get; set; }

    public SessionRecord? Existing { get; set; }
}
