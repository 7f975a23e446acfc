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

    // Caches of what the 's', 'x' and 't' namespaces hold, so that a command costs no LSM read
    // for its session unless it is a retry; rebuilt by Reload. Bounded by the number of clients.
    private readonly Dictionary<ulong, (ulong LastSequence, long Deadline)> _live = [];
    private readonly HashSet<ulong> _expired = [];
    private long _clock;

    // No deadline-index entry is earlier than this (it may be earlier than the earliest entry,
    // which only costs a scan that finds nothing).
    private long _nextDeadline;

    public SessionTable(MvccStore store, KvStateMachineOptions options)
    {
        _store = store;
        _ttlMs = (long)options.SessionTtl.TotalMilliseconds;
        _retentionMs = (long)options.ExpiredSessionRetention.TotalMilliseconds;
        Reload();
    }

    /// <summary>The state machine clock (unix ms).</summary>
    public long Clock => _clock;

    /// <summary>Re-reads sessions and the clock from the store (at open, after its contents were replaced).</summary>
    public void Reload()
    {
        _clock = _store.TryGetRaw(MvccKeys.SessionClockKey, out byte[] value) ? MvccKeys.ReadInt64Value(value) : 0;
        _live.Clear();
        _expired.Clear();
        foreach ((byte[] key, byte[] record) in _store.RawRange([MvccKeys.SessionTag], [MvccKeys.SessionTag + 1]))
        {
            SessionRecord session = SessionRecord.Decode(record);
            _live[MvccKeys.ClientOfSessionKey(key)] = (session.LastSequence, session.DeadlineUnixMs);
        }

        foreach ((byte[] key, _) in _store.RawRange([MvccKeys.ExpiredSessionTag], [MvccKeys.ExpiredSessionTag + 1]))
        {
            _expired.Add(MvccKeys.ClientOfSessionKey(key));
        }

        RecomputeNextDeadline();
    }

    /// <summary>Decides, without writing, what a command with this session and clock input gets.</summary>
    public SessionPlan Plan(ulong clientId, ulong sequence, long issuedAtUnixMs)
    {
        long now = Math.Max(_clock, issuedAtUnixMs);
        List<(byte[] Key, byte[] Value)> due = now >= _nextDeadline
            ? _store.RawRange(MvccKeys.DeadlineKey(0, 0), MvccKeys.DeadlineKey(now + 1, 0)).ToList()
            : [];
        var plan = new SessionPlan(now, due, scanned: now >= _nextDeadline);
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

        if (_live.TryGetValue(clientId, out var existing))
        {
            plan.ExistingSequence = existing.LastSequence;
            plan.ExistingDeadline = existing.Deadline;
            plan.Verdict = sequence == existing.LastSequence ? SessionVerdict.Duplicate
                : sequence < existing.LastSequence ? SessionVerdict.Stale
                : SessionVerdict.Apply;
            if (plan.Verdict == SessionVerdict.Duplicate)
            {
                plan.SavedResult = _store.TryGetRaw(MvccKeys.SessionKey(clientId), out byte[] stored)
                    ? SessionRecord.Decode(stored).LastResult
                    : throw new InvalidDataException($"session of client {clientId} is cached but not stored");
            }

            return plan;
        }

        plan.Verdict = _expired.Contains(clientId) ? SessionVerdict.Expired : SessionVerdict.Apply;
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
            if (plan.ExistingDeadline is { } oldDeadline)
            {
                batch.Delete(MvccKeys.DeadlineKey(oldDeadline, clientId));
            }

            long deadline = plan.Now + _ttlMs;
            batch.Put(MvccKeys.SessionKey(clientId), new SessionRecord(sequence, plan.Now, deadline, result).Encode());
            batch.Put(MvccKeys.DeadlineKey(deadline, clientId), [0]);
            plan.Recorded = (clientId, sequence, deadline);
        }
    }

    /// <summary>Called once the batch holding <see cref="Write"/>'s changes is committed: brings the caches up to date.</summary>
    public void Committed(SessionPlan plan)
    {
        _clock = plan.Now;
        foreach ((byte[] deadlineKey, byte[] kind) in plan.Due)
        {
            ulong client = MvccKeys.ClientOfDeadline(deadlineKey);
            if (kind[0] == 0)
            {
                _live.Remove(client);
                _expired.Add(client);
            }
            else
            {
                _expired.Remove(client);
            }
        }

        if (plan.Scanned)
        {
            RecomputeNextDeadline();
        }

        if (plan.Recorded is var (client2, sequence, deadline))
        {
            _live[client2] = (sequence, deadline);
            _nextDeadline = Math.Min(_nextDeadline, deadline);
        }
    }

    private void RecomputeNextDeadline()
    {
        _nextDeadline = long.MaxValue;
        foreach ((byte[] key, _) in _store.RawRange([MvccKeys.DeadlineTag], [MvccKeys.DeadlineTag + 1]))
        {
            _nextDeadline = MvccKeys.DeadlineOf(key);
            break;
        }
    }

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

internal sealed class SessionPlan(long now, List<(byte[] Key, byte[] Value)> due, bool scanned)
{
    public long Now { get; } = now;

    /// <summary>Deadline-index entries due at <see cref="Now"/>: sessions and expired markers to drop.</summary>
    public List<(byte[] Key, byte[] Value)> Due { get; } = due;

    /// <summary>Whether the deadline index was read (the cached next deadline is then recomputed).</summary>
    public bool Scanned { get; } = scanned;

    public SessionVerdict Verdict { get; set; }

    public ulong? ExistingSequence { get; set; }

    public long? ExistingDeadline { get; set; }

    /// <summary>For <see cref="SessionVerdict.Duplicate"/>: the answer the first attempt got.</summary>
    public KvCommandResult? SavedResult { get; set; }

    /// <summary>The session record <see cref="SessionTable.Write"/> added, if any.</summary>
    public (ulong Client, ulong Sequence, long Deadline)? Recorded { get; set; }
}
