namespace KvStore.Client;

/// <summary>Order of the keys a range returns.</summary>
public enum SortOrder
{
    /// <summary>The store's order (ascending by key).</summary>
    None = 0,

    /// <summary>Ascending by <see cref="SortTarget"/>.</summary>
    Ascend = 1,

    /// <summary>Descending by <see cref="SortTarget"/>.</summary>
    Descend = 2,
}
