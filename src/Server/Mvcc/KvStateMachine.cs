using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using KvStore.Raft.Core;
using KvStore.Raft.Host;
using KvStore.Server.Locks;
using KvStore.Server.Leases;
using KvStore.Server.Protos;
using KvStore.Storage;
using KvStore.Storage.IO;
using KvStore.Storage.Lsm;

namespace KvStore.Server.Mvcc;

/// <summary>
/// The replicated state of one Raft group: applies <see cref="KvCommand"/>s to an
/// <see cref="MvccStore"/>. Deterministic — its only clock is the commands' issued_at_unix_ms —
/// so every replica reaches the same state and answers at every index.
/// </summary>
/// <remarks>
/// <para>Each entry is applied as ONE LSM write batch tagged with its Raft index (the command's
/// mutations, its session record, the counters and the applied index), so a crash never leaves
/// half a command and <see cref="AppliedIndex"/> after reopening is exactly the last command whose
/// batch survived. One <see cref="Apply"/> call writes its batches inside one LSM write scope
/// (<see cref="LsmDatabase.BeginWriteScope"/>): without a WAL the memtable then holds whole calls, so
/// what survives a crash is a whole number of Apply calls, ending at the last entry of one. Under Raft the LSM runs without its WAL: after a crash the host replays the
/// log from <see cref="AppliedIndex"/> + 1, and entries at or below it are skipped, never applied
/// twice.</para>
/// <para>Results, one per Normal entry: the op's response message (<see cref="PutResponse"/>,
/// <see cref="DeleteRangeResponse"/>, <see cref="TxnResponse"/>, <see cref="CompactionResponse"/>)
/// or an <see cref="Error"/> (bad input, compacted or future revision, stale sequence, expired
/// session). Null for a leader's no-op and for entries already applied before a restart.</para>
/// <para>Bad input never throws out of <see cref="Apply"/>: an exception there would stop the
/// host. Storage failures do throw (<see cref="StorageException"/>): the state cannot advance.</para>
/// </remarks>
public sealed class KvStateMachine : IStateMachine, IDisposable
{
    private readonly MvccStore _store;
    private readonly bool _ownsStore;
    private readonly SessionTable _sessions;
    private readonly long _minLeaseTtlSeconds;
    private readonly long _endedLeaseRetentionMs;

    public KvStateMachine(MvccStore store, KvStateMachineOptions? options = null, bool ownsStore = false)
    {
        ArgumentNullException.ThrowIfNull(store);
        options ??= new KvStateMachineOptions();
        options.Validate();
        _store = store;
        _ownsStore = ownsStore;
        _sessions = new SessionTable(store, options);
        _minLeaseTtlSeconds = (long)Math.Ceiling(options.MinLeaseTtl.TotalSeconds);
        _endedLeaseRetentionMs = (long)options.EndedLeaseRetention.TotalMilliseconds;
        Leases = new LeaseTable(store);
    }

    /// <summary>Opens the group's store in <paramref name="directory"/> (created if needed, LSM WAL off) and owns it.</summary>
    public static KvStateMachine Open(string directory, IFileSystem? fileSystem = null, KvStateMachineOptions? options = null) =>
        Open(directory, MvccStore.LsmOptionsFor(fileSystem ?? PhysicalFileSystem.Instance), options);

    /// <summary>Opens with explicit LSM options (start from <see cref="MvccStore.LsmOptionsFor"/>); owns the store.</summary>
    public static KvStateMachine Open(string directory, LsmOptions lsmOptions, KvStateMachineOptions? options = null)
    {
        MvccStore store = MvccStore.Open(directory, lsmOptions);
        try
        {
            return new KvStateMachine(store, options, ownsStore: true);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>The store, for local (serializable or ReadIndex-confirmed) reads: <see cref="MvccStore.Range"/>.</summary>
    public MvccStore Store => _store;

    /// <summary>Which locks each applied command touched, for the node's lock service (see <see cref="LockActivityFeed"/>).</summary>
    public LockActivityFeed LockActivity { get; } = new();

    public long AppliedIndex => _store.State.AppliedIndex;

    /// <summary>The leases of the applied state (read side; see <see cref="LeaseTable"/>).</summary>
    public LeaseTable Leases { get; }

    /// <summary>
    /// Raised on the applying thread after a command that granted, checkpointed or ended leases has
    /// been committed (the leader's <see cref="LeaseService"/> keeps its deadlines with it). A
    /// handler must be quick and must not throw: it runs inside Apply.
    /// </summary>
    public event Action<LeaseChange>? LeaseChanged;
    /// <summary>
    /// Called on the applying thread after a batch of entries that advanced the revision, and after
    /// a snapshot restore: the watch hub's wake-up (issue 5). It must return at once and not throw —
    /// the apply loop is the hot path and waits for no watcher.
    /// </summary>
    public Action? RevisionAdvanced { get; set; }

    public IReadOnlyList<object?> Apply(IReadOnlyList<Entry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var results = new List<object?>(entries.Count);
        long revisionBefore = _store.State.Revision;
        // One hold of the LSM writer queue for the whole call instead of one queue trip per entry; the memtable
        // is not switched inside it, so a crash keeps every entry of this call or none (see the remarks above).
        using LsmWriteScope writeScope = _store.Database.BeginWriteScope();
        foreach (Entry entry in entries)
        {
            long applied = AppliedIndex;
            if (entry.Index <= applied)
            {
                // Replay after a restart: this entry's batch is already in the store.
                if (entry.Type == EntryType.Normal)
                {
                    results.Add(null);
                }

                continue;
            }

            if (entry.Index != applied + 1)
            {
                throw new InvalidOperationException($"entry {entry.Index} does not follow the applied index {applied}: entries must be applied consecutively");
            }

            if (entry.Type != EntryType.Normal || entry.Data.IsEmpty)
            {
                _store.Commit(_store.BeginWrite(), entry.Index);
                if (entry.Type == EntryType.Normal)
                {
                    results.Add(null);
                }

                continue;
            }

            results.Add(ApplyEntry(entry));
        }

        if (_store.State.Revision != revisionBefore)
        {
            RevisionAdvanced?.Invoke();
        }

        return results;
    }

    /// <summary>Applies one command outside Raft (tests, tools): as if it were the next log entry.</summary>
    public object ApplyCommand(KvCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return Apply([Entry.Normal(AppliedIndex + 1, 0, command.ToByteArray())])[0]!;
    }

    public ReadOnlyMemory<byte> TakeSnapshot() => CaptureSnapshot()();

    /// <summary>Pins the store's contents now (an LSM snapshot, which includes the applied index); the returned function serializes them on any thread.</summary>
    public Func<ReadOnlyMemory<byte>> CaptureSnapshot()
    {
        long applied = AppliedIndex;
        LsmSnapshot pinned = _store.PinContents();
        return () =>
        {
            using (pinned)
            {
                return MvccSnapshotFormat.Write(applied, _store.ExportEntries(pinned));
            }
        };
    }

    /// <summary>
    /// Replaces the whole state with the snapshot's. The snapshot is checked completely first:
    /// corrupted bytes throw <see cref="StorageCorruptionException"/> and leave the state as it was.
    /// </summary>
    public void Restore(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        string source = $"snapshot at index {snapshot.Metadata.Index}";
        (long appliedIndex, List<(byte[] Key, byte[] Value)> entries) = MvccSnapshotFormat.Read(snapshot.Data.Span, source);
        if (appliedIndex != snapshot.Metadata.Index)
        {
            throw new StorageCorruptionException(source, 12, $"the snapshot's contents are of index {appliedIndex}, not {snapshot.Metadata.Index}");
        }

        _store.ReplaceContents(entries, appliedIndex);
        _sessions.Reload();
        LockActivity.Restored();
        RevisionAdvanced?.Invoke();
    }

    public MvccStatus GetStatus() => _store.GetStatus();

    /// <summary>Flushes the memtable (so a clean restart replays nothing) and closes an owned store.</summary>
    public void Dispose()
    {
        if (!_ownsStore)
        {
            return;
        }

        try
        {
            _store.Database.Flush();
        }
        catch (Exception e) when (e is StorageException or ObjectDisposedException)
        {
            // A failing disk (or a crash in a test) loses only the memtable: the Raft log replays it.
        }
        finally
        {
            _store.Dispose();
        }
    }

    private object ApplyEntry(Entry entry)
    {
        KvCommand command;
        try
        {
            command = KvCommand.Parser.ParseFrom(entry.Data.Span);
        }
        catch (InvalidProtocolBufferException e)
        {
            _store.Commit(_store.BeginWrite(), entry.Index);
            return new Error { Code = ErrorCode.InvalidArgument, Message = $"entry {entry.Index}: not a KvCommand: {e.Message}" };
        }

        SessionPlan plan = _sessions.Plan(command.ClientId, command.Sequence, command.IssuedAtUnixMs);
        KvCommandResult? result = null;
        MvccWrite write = _store.BeginWrite();
        object response;
        switch (plan.Verdict)
        {
            case SessionVerdict.Duplicate:
                response = Unwrap(plan.SavedResult!);
                break;
            case SessionVerdict.Stale:
                response = SessionTable.StaleError(command.ClientId, command.Sequence, plan.ExistingSequence!.Value);
                break;
            case SessionVerdict.Expired:
                response = SessionTable.ExpiredError(command.ClientId);
                break;
            default:
                (result, write) = Execute(command, write, plan.Now);
                response = Unwrap(result);
                break;
        }

        _sessions.Write(plan, command.ClientId, command.Sequence, result, write.Batch);
        _store.Commit(write, entry.Index);
        _sessions.Committed(plan);
        if (result is not null)
        {
            LockActivity.Committed(command, write);
        }
        if (LeaseChanged is { } leaseChanged)
        {
            foreach (LeaseChange change in write.LeaseChanges)
            {
                leaseChanged(change);
            }
        }

        return response;
    }

    /// <summary>Runs the op; on a refused request the partial write is dropped for a fresh one, so nothing of it commits.</summary>
    private (KvCommandResult Result, MvccWrite Write) Execute(KvCommand command, MvccWrite write, long now)
    {
        try
        {
            KvCommandResult result = command.OpCase switch
            {
                KvCommand.OpOneofCase.Put => new KvCommandResult { Put = write.Put(command.Put) },
                KvCommand.OpOneofCase.DeleteRange => new KvCommandResult { DeleteRange = write.DeleteRange(command.DeleteRange) },
                KvCommand.OpOneofCase.Txn => new KvCommandResult { Txn = write.Txn(command.Txn) },
                KvCommand.OpOneofCase.Compact => new KvCommandResult { Compact = write.Compact(command.Compact) },
                KvCommand.OpOneofCase.LockEnqueue => new KvCommandResult { LockEnqueue = LockTable.Enqueue(write, command.LockEnqueue) },
                KvCommand.OpOneofCase.LockGrant => new KvCommandResult { LockGrant = LockTable.Grant(write, command.LockGrant, now) },
                KvCommand.OpOneofCase.LockUnlock => new KvCommandResult { LockUnlock = LockTable.Unlock(write, command.LockUnlock, now) },
                KvCommand.OpOneofCase.LeaseGrant => new KvCommandResult { LeaseGrant = write.GrantLease(command.LeaseGrant, now, _minLeaseTtlSeconds) },
                KvCommand.OpOneofCase.LeaseRevoke => new KvCommandResult { LeaseRevoke = write.RevokeLease(command.LeaseRevoke, now) },
                KvCommand.OpOneofCase.LeaseCheckpoint => new KvCommandResult { LeaseCheckpoint = write.CheckpointLeases(command.LeaseCheckpoint, now) },
                KvCommand.OpOneofCase.LeaseExpire => new KvCommandResult { LeaseExpire = write.ExpireLeases(command.LeaseExpire, now) },
                KvCommand.OpOneofCase.LeaseForget => new KvCommandResult { LeaseForget = write.ForgetLeases(command.LeaseForget, now, _endedLeaseRetentionMs) },
                _ => throw new MvccException(ErrorCode.InvalidArgument, "command has no operation"),
            };
            if (command.OpCase == KvCommand.OpOneofCase.LeaseExpire || (command.OpCase == KvCommand.OpOneofCase.LeaseRevoke && command.LeaseRevoke.Expired))
            {
                // Lock-delay (Chubby) applies only after an expiry: the locks whose holder this deleted remember when.
                LockTable.NoteExpiredHolders(write, now);
            }

            return (result, write);
        }
        catch (MvccException e)
        {
            var error = e.ToError();
            error.Header = new ResponseHeader { Revision = write.Base.Revision };
            return (new KvCommandResult { Error = error }, _store.BeginWrite());
        }
    }

    private static IMessage Unwrap(KvCommandResult result) => result.ResultCase switch
    {
        KvCommandResult.ResultOneofCase.Put => result.Put,
        KvCommandResult.ResultOneofCase.DeleteRange => result.DeleteRange,
        KvCommandResult.ResultOneofCase.Txn => result.Txn,
        KvCommandResult.ResultOneofCase.Compact => result.Compact,
        KvCommandResult.ResultOneofCase.LockEnqueue => result.LockEnqueue,
        KvCommandResult.ResultOneofCase.LockGrant => result.LockGrant,
        KvCommandResult.ResultOneofCase.LockUnlock => result.LockUnlock,
        KvCommandResult.ResultOneofCase.LeaseGrant => result.LeaseGrant,
        KvCommandResult.ResultOneofCase.LeaseRevoke => result.LeaseRevoke,
        KvCommandResult.ResultOneofCase.LeaseCheckpoint => result.LeaseCheckpoint,
        KvCommandResult.ResultOneofCase.LeaseExpire => result.LeaseExpire,
        KvCommandResult.ResultOneofCase.LeaseForget => result.LeaseForget,
        KvCommandResult.ResultOneofCase.Error => result.Error,
        _ => new Error { Code = ErrorCode.Internal, Message = "a stored session result is empty" },
    };
}
