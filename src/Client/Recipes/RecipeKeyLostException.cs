namespace KvStore.Client.Recipes;

/// <summary>
/// A recipe's own key vanished while it was waiting or holding: its lease ended (expired or was
/// revoked) or someone deleted the key. Whatever the recipe granted is no longer held.
/// </summary>
public sealed class RecipeKeyLostException : KvStoreException
{
    /// <summary>Creates the exception for <paramref name="key"/>.</summary>
    public RecipeKeyLostException(string key)
        : base($"recipe key {key} no longer exists: its lease ended or it was deleted")
    {
        Key = key;
    }

    /// <summary>The key that vanished.</summary>
    public string Key { get; }
}
