using System.Globalization;

namespace KvStore.Client.Routing;

/// <summary>A member's client endpoint, "host:port" (IPv6 hosts in brackets), normalised for comparison.</summary>
public readonly record struct EndpointAddress(string Host, int Port)
{
    /// <summary>Parses "host:port", "[v6]:port" or the same with an "http://" or "https://" prefix.</summary>
    /// <exception cref="ArgumentException">The text is not an endpoint.</exception>
    public static EndpointAddress Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        foreach (var scheme in (ReadOnlySpan<string>)["http://", "https://", "tcp://"])
        {
            if (trimmed.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            {
                trimmed = trimmed[scheme.Length..];
            }
        }

        trimmed = trimmed.TrimEnd('/');
        int colon = trimmed.LastIndexOf(':');
        if (colon <= 0 || colon == trimmed.Length - 1)
        {
            throw new ArgumentException($"endpoint '{text}' is not host:port", nameof(text));
        }

        var host = trimmed[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        if (!int.TryParse(trimmed.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            throw new ArgumentException($"endpoint '{text}' has no valid port (1-65535)", nameof(text));
        }

        if (host.Length == 0)
        {
            throw new ArgumentException($"endpoint '{text}' has no host", nameof(text));
        }

        return new EndpointAddress(host.ToLowerInvariant(), port);
    }

    /// <summary>"host:port", with brackets around an IPv6 host.</summary>
    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
