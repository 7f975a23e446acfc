using System.Text.Json;

namespace KvStore.Server.Node;

/// <summary>
/// Encodes the member information that travels through the Raft log: in a ConfChange's context
/// (the member being added) and in "publish" Normal entries (a member's client URL, proposed by
/// the leader once it learned it from the peer handshake).
/// </summary>
/// <remarks>
/// Layout (stored in the Raft log; do not change): the 11 magic bytes <c>FF FE 'K' 'V' 'M' 'E' 'M'
/// 'B' 'E' 'R' '1'</c> followed by a JSON <see cref="MemberRecord"/>. A KvCommand never starts with
/// byte FF (its first byte is a protobuf tag of a small field number), so a publish entry is told
/// apart from a command by its first bytes. In a ConfChange context the host may have put its
/// 16-byte proposal header in front; the magic is looked for at offset 0 and 16.
/// </remarks>
public static class MemberEntryCodec
{
    private static readonly byte[] Magic = [0xFF, 0xFE, (byte)'K', (byte)'V', (byte)'M', (byte)'E', (byte)'M', (byte)'B', (byte)'E', (byte)'R', (byte)'1'];
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static byte[] Encode(MemberRecord member)
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(member, Json);
        var bytes = new byte[Magic.Length + json.Length];
        Magic.CopyTo(bytes, 0);
        json.CopyTo(bytes, Magic.Length);
        return bytes;
    }

    /// <summary>Whether <paramref name="data"/> (a Normal entry's command) is a member publication.</summary>
    public static bool IsMemberEntry(ReadOnlySpan<byte> data) => data.StartsWith(Magic);

    /// <summary>Finds and decodes a member record at offset 0 or 16 of <paramref name="data"/>; null when there is none or it is malformed.</summary>
    public static MemberRecord? TryDecode(ReadOnlySpan<byte> data)
    {
        foreach (int offset in (ReadOnlySpan<int>)[0, 16])
        {
            if (data.Length > offset + Magic.Length && data[offset..].StartsWith(Magic))
            {
                try
                {
                    return JsonSerializer.Deserialize<MemberRecord>(data[(offset + Magic.Length)..], Json);
                }
                catch (JsonException)
                {
                    return null;
                }
            }
        }

        return null;
    }
}
