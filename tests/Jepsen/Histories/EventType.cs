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

/// <summary>Names of <see cref="EventType"/> as they appear in history files.</summary>
public static class EventTypeNames
{
    public static bool TryParse(string name, out EventType type)
    {
        switch (name)
        {
            case "invoke": type = EventType.Invoke; return true;
            case "ok": type = EventType.Ok; return true;
            case "fail": type = EventType.Fail; return true;
            case "info": type = EventType.Info; return true;
            default: type = default; return false;
        }
    }
}
