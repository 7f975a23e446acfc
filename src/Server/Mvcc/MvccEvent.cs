using KvStore.Client.Protocol.Messages;

namespace KvStore.Server.Mvcc;

/// <summary>Stored in the event index (see <see cref="MvccKeys"/>): do not change the values.</summary>
public enum MvccEventType : byte
{
    Put = 0,
    Delete = 1,
}

/// <summary>
/// One change of one key, as watches (issue 5) deliver it. Events are ordered by
/// (<see cref="Revision"/>, <see cref="Sub"/>); all events of one revision come from one command.
/// For a delete, <see cref="Kv"/> holds the key and the deletion's mod revision only (etcd's shape).
/// </summary>
public sealed record MvccEvent(long Revision, int Sub, MvccEventType Type, KeyValue Kv, KeyValue? PrevKv);
