namespace KvStore.Client;

/// <summary>One change of one key.</summary>
/// <param name="Type">Put or delete.</param>
/// <param name="Kv">The key after the change; for a delete, the key with the deletion's mod revision and no value.</param>
/// <param name="PrevKv">The key before the change, when the watch asked for it and the key had a version.</param>
public sealed record WatchEvent(WatchEventType Type, KvPair Kv, KvPair? PrevKv)
{
    /// <summary>The revision of the change.</summary>
    public long Revision => Kv.ModRevision;

    /// <summary>Converts the wire message.</summary>
    public static WatchEvent FromMessage(Protocol.Messages.Event message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return new WatchEvent(
            message.Type == Protocol.Messages.Event.Types.EventType.Delete ? WatchEventType.Delete : WatchEventType.Put,
            KvPair.FromMessage(message.Kv ?? new Protocol.Messages.KeyValue()),
            message.PrevKv is null ? null : KvPair.FromMessage(message.PrevKv));
    }

    /// <summary>"PUT key = value (mod r, ...)" or "DELETE key (rev r)".</summary>
    public override string ToString() => Type == WatchEventType.Put ? $"PUT {Kv}" : $"DELETE {Kv.KeyString} (rev {Kv.ModRevision})";
}
