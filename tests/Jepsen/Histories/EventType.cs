namespace KvStore.Jepsen.Histories;

/// <summary>Jepsen's event types.</summary>
public enum EventType
{
    /// <summary>A client started an operation.</summary>
    Invoke,

    /// <summary>The operation took effect and returned the event's value.</summary>
    Ok,

    /// <summary>The operation certainly did not take effect.</summary>
    Fail,

    /// <summary>The outcome is unknown (e.g. a timeout): it may take effect at any later time, or never.</summary>
    Info,
}
