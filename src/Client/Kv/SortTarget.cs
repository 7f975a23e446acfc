namespace KvStore.Client;

/// <summary>The field a range is sorted by.</summary>
public enum SortTarget
{
    /// <summary>The key's bytes.</summary>
    Key = 0,

    /// <summary>The key's version.</summary>
    Version = 1,

    /// <summary>The key's create revision.</summary>
    Create = 2,

    /// <summary>The key's mod revision.</summary>
    Mod = 3,

    /// <summary>The value's bytes.</summary>
    Value = 4,
}
