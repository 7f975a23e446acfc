namespace KvStore.Client.Protocol;

/// <summary>Versions of the native protocol (sent in <c>Hello.protocol_version</c>).</summary>
public static class ProtocolVersion
{
    /// <summary>The version this library speaks.</summary>
    public const uint Current = 1;

    /// <summary>The oldest version a server of this library accepts.</summary>
    public const uint MinSupported = 1;

    public static bool IsSupported(uint version) => version is >= MinSupported and <= Current;
}
