using System.Globalization;

namespace KvStore.Server.Peers;

/// <summary>Parses the HOST:PORT addresses used for peer and client URLs (an optional scheme is ignored).</summary>
public static class PeerAddress
{
    public static (string Host, int Port) Parse(string address)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        string text = address;
        int scheme = text.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            text = text[(scheme + 3)..];
        }

        text = text.TrimEnd('/');
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1
            || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port)
            || port is <= 0 or > 65535)
        {
            throw new FormatException($"'{address}' is not HOST:PORT");
        }

        string host = text[..colon].Trim('[', ']');
        return (host, port);
    }
}
