namespace KvStore.Client;

/// <summary>What happened to a key.</summary>
public enum WatchEventType
{
    Put,
    Delete,
}
