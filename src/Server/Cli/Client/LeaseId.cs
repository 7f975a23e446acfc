using System.CommandLine.Parsing;
using System.Globalization;

namespace KvStore.Server.Cli.Client;

/// <summary>Lease ids on the command line: decimal, or hexadecimal with a 0x prefix (as etcdctl prints them).</summary>
internal static class LeaseId
{
    public static long Parse(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "0";
        if (TryParse(text, out long id))
        {
            return id;
        }

        result.AddError($"lease id '{text}' is not a decimal or 0x-hex number");
        return 0;
    }

    public static bool TryParse(string text, out long id) =>
        text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? long.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out id)
            : long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out id);
}
