namespace KvStore.Server.Cli.Bench;

/// <summary>What each benchmark client does in a loop.</summary>
internal enum BenchWorkload
{
    /// <summary>Put a value of the configured size at a random key.</summary>
    Put,

    /// <summary>Read a random key of the preloaded key space (linearizable unless --serializable).</summary>
    Get,

    /// <summary>
    /// Compare-and-swap: a transaction "if mod_revision(k) == last seen then put k else get k" on a
    /// random key, as an optimistic-concurrency client does; the else branch refreshes what it saw.
    /// </summary>
    Cas,
}
