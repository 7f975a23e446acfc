using System.Text;
using Wire = KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>A key with its value and MVCC metadata, as read from the store.</summary>
/// <param name="Key">The key's bytes.</param>
/// <param name="Value">The value's bytes (empty for a keys-only read).</param>
/// <param name="CreateRevision">Revision of the key's last creation.</param>
/// <param name="ModRevision">Revision of the key's last modification.</param>
/// <param name="Version">Modifications since creation (1 after the creating put).</param>
/// <param name="Lease">Lease attached to the key; 0 means none.</param>
public sealed record KvPair(ReadOnlyMemory<byte> Key, ReadOnlyMemory<byte> Value, long CreateRevision, long ModRevision, long Version, long Lease)
{
    /// <summary>The key decoded as UTF-8.</summary>
    public string KeyString => Encoding.UTF8.GetString(Key.Span);

    /// <summary>The value decoded as UTF-8.</summary>
    public string ValueString => Encoding.UTF8.GetString(Value.Span);

    /// <summary>Converts the wire message.</summary>
    public static KvPair FromMessage(Wire.KeyValue message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return new KvPair(message.Key.Memory, message.Value.Memory, message.CreateRevision, message.ModRevision, message.Version, message.Lease);
    }

    /// <summary>"key = value (rev mod/create, version v)", for logs and debugging.</summary>
    public override string ToString() =>
        $"{KeyString} = {ValueString} (mod {ModRevision}, create {CreateRevision}, version {Version}{(Lease != 0 ? $", lease {Lease}" : string.Empty)})";
}
