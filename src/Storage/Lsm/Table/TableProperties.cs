namespace KvStore.Storage.Lsm.Table;

/// <summary>
/// Facts about one table, returned by <see cref="TableBuilder.Finish"/> and stored in the table's
/// properties block so <see cref="TableReader.Properties"/> reports the same values.
/// Byte counts include each block's 5-byte trailer. <see cref="SmallestKey"/> and
/// <see cref="LargestKey"/> are internal keys (empty for a table without entries).
/// </summary>
public sealed record TableProperties(
    long FileSize,
    long EntryCount,
    byte[] SmallestKey,
    byte[] LargestKey,
    long DataBytes,
    long IndexBytes,
    long FilterBytes);
