namespace KvStore.Client;

/// <summary>The property of a key a transaction condition looks at.</summary>
public enum CompareTarget
{
    /// <summary>Modifications since creation.</summary>
    Version = 0,

    /// <summary>Revision of the key's creation.</summary>
    CreateRevision = 1,

    /// <summary>Revision of the key's last modification.</summary>
    ModRevision = 2,

    /// <summary>The value's bytes.</summary>
    Value = 3,

    /// <summary>The attached lease.</summary>
    Lease = 4,

    /// <summary>The fencing token of a lock.</summary>
    FencingToken = 5,
}
