namespace KvStore.Storage.Lsm;

/// <summary>
/// An open run of writes from one thread that holds the database's writer queue (see
/// <see cref="LsmDatabase.BeginWriteScope"/>); dispose it on the same thread to let other writers in.
/// </summary>
public sealed class LsmWriteScope : IDisposable
{
    private LsmDatabase? _database;

    internal LsmWriteScope(LsmDatabase? database) => _database = database;

    public void Dispose()
    {
        if (_database is { } database)
        {
            _database = null;
            database.EndWriteScope();
        }
    }
}
