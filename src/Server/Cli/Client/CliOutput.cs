using System.Globalization;
using System.Text.Json;
using KvStore.Client;

namespace KvStore.Server.Cli.Client;

/// <summary>
/// Prints results of the client verbs. "simple" follows etcdctl's layout (a get prints each key
/// on one line and its value on the next); "json" prints one JSON object per command with
/// snake_case names, keys and values as UTF-8 strings.
/// </summary>
internal sealed class CliOutput
{
    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly TextWriter _writer;

    public CliOutput(TextWriter writer, bool json)
    {
        _writer = writer;
        Json = json;
    }

    public bool Json { get; }

    public void Put(PutResult result)
    {
        if (Json)
        {
            Write(new { header = Header(result.Header), prev_kv = result.PrevKv is null ? null : Kv(result.PrevKv) });
            return;
        }

        _writer.WriteLine("OK");
        if (result.PrevKv is { } prev)
        {
            _writer.WriteLine(prev.KeyString);
            _writer.WriteLine(prev.ValueString);
        }
    }

    public void Range(RangeResult result, bool keysOnly, bool countOnly)
    {
        if (Json)
        {
            Write(new { header = Header(result.Header), kvs = result.Kvs.Select(Kv).ToArray(), more = result.More, count = result.Count });
            return;
        }

        if (countOnly)
        {
            _writer.WriteLine(result.Count.ToString(CultureInfo.InvariantCulture));
            return;
        }

        foreach (var kv in result.Kvs)
        {
            _writer.WriteLine(kv.KeyString);
            if (!keysOnly)
            {
                _writer.WriteLine(kv.ValueString);
            }
        }
    }

    public void Delete(DeleteResult result)
    {
        if (Json)
        {
            Write(new { header = Header(result.Header), deleted = result.Deleted, prev_kvs = result.PrevKvs.Select(Kv).ToArray() });
            return;
        }

        _writer.WriteLine(result.Deleted.ToString(CultureInfo.InvariantCulture));
        foreach (var kv in result.PrevKvs)
        {
            _writer.WriteLine(kv.KeyString);
            _writer.WriteLine(kv.ValueString);
        }
    }

    public void Txn(TxnResult result)
    {
        if (Json)
        {
            Write(new { header = Header(result.Header), succeeded = result.Succeeded, responses = result.Results.Select(OpJson).ToArray() });
            return;
        }

        _writer.WriteLine(result.Succeeded ? "SUCCESS" : "FAILURE");
        foreach (var op in result.Results)
        {
            _writer.WriteLine();
            if (op.Put is { } put)
            {
                Put(put);
            }
            else if (op.Range is { } range)
            {
                Range(range, keysOnly: false, countOnly: false);
            }
            else if (op.Delete is { } delete)
            {
                Delete(delete);
            }
            else if (op.Txn is { } nested)
            {
                Txn(nested);
            }
        }
    }

    public void Compact(long revision, KvResponseHeader header)
    {
        if (Json)
        {
            Write(new { header = Header(header), compacted_revision = revision });
            return;
        }

        _writer.WriteLine($"compacted revision {revision.ToString(CultureInfo.InvariantCulture)}");
    }

    /// <summary>One row per endpoint; an endpoint that did not answer shows its error.</summary>
    public void Status(IReadOnlyList<(string Endpoint, MemberStatus? Status, string? Error)> rows)
    {
        if (Json)
        {
            Write(rows.Select(r => r.Status is { } s
                ? (object)new
                {
                    endpoint = r.Endpoint, name = s.Name, id = Hex(s.MemberId), is_leader = s.IsLeader, is_learner = s.IsLearner, leader = Hex(s.LeaderId),
                    raft_term = s.RaftTerm, raft_commit_index = s.CommitIndex, raft_applied_index = s.AppliedIndex, revision = s.Revision,
                    db_size_bytes = s.DbSizeBytes, version = s.Version, errors = s.Errors,
                }
                : new { endpoint = r.Endpoint, error = r.Error }).ToArray());
            return;
        }

        var table = new List<string[]> { new[] { "ENDPOINT", "NAME", "ID", "LEADER", "TERM", "COMMIT", "APPLIED", "REVISION", "DB SIZE", "ERRORS" } };
        foreach (var (endpoint, status, error) in rows)
        {
            table.Add(status is { } s
                ? [endpoint, s.Name, Hex(s.MemberId), s.IsLeader ? "true" : s.IsLearner ? "learner" : "false", Num(s.RaftTerm), Num(s.CommitIndex), Num(s.AppliedIndex),
                    Num(s.Revision), Size(s.DbSizeBytes), string.Join("; ", s.Errors)]
                : [endpoint, "-", "-", "-", "-", "-", "-", "-", "-", error ?? "no answer"]);
        }

        WriteTable(table);
    }

    public void Members(IReadOnlyList<ClusterMember> members)
    {
        if (Json)
        {
            Write(new { members = members.Select(MemberJson).ToArray() });
            return;
        }

        var table = new List<string[]> { new[] { "ID", "NAME", "PEER URLS", "CLIENT URLS", "LEARNER" } };
        table.AddRange(members.Select(m => new[] { Hex(m.Id), m.Name, string.Join(",", m.PeerUrls), string.Join(",", m.ClientUrls), m.IsLearner ? "true" : "false" }));
        WriteTable(table);
    }

    public void MemberAdded(ClusterMember member)
    {
        if (Json)
        {
            Write(new { member = MemberJson(member) });
            return;
        }

        _writer.WriteLine($"Member {Hex(member.Id)} added: {member.Name}{(member.IsLearner ? " (learner)" : string.Empty)}, peer {string.Join(",", member.PeerUrls)}");
    }

    public void MemberChanged(string what, ulong id, IReadOnlyList<ClusterMember> members)
    {
        if (Json)
        {
            Write(new { member_id = Hex(id), members = members.Select(MemberJson).ToArray() });
            return;
        }

        _writer.WriteLine($"Member {Hex(id)} {what}");
    }

    /// <summary>Member ids print as 16 hex digits, as etcdctl does.</summary>
    public static string Hex(ulong id) => id.ToString("x16", CultureInfo.InvariantCulture);

    public static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{(bytes / 1024.0).ToString("0.0", CultureInfo.InvariantCulture)} kB",
        < 1024L * 1024 * 1024 => $"{(bytes / (1024.0 * 1024)).ToString("0.0", CultureInfo.InvariantCulture)} MB",
        _ => $"{(bytes / (1024.0 * 1024 * 1024)).ToString("0.0", CultureInfo.InvariantCulture)} GB",
    };

    private static string Num(ulong value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Num(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static object Header(KvResponseHeader header) =>
        new { cluster_id = Hex(header.ClusterId), member_id = Hex(header.MemberId), revision = header.Revision, raft_term = header.RaftTerm };

    private static object Kv(KvPair kv) => new
    {
        key = kv.KeyString, value = kv.ValueString, create_revision = kv.CreateRevision, mod_revision = kv.ModRevision, version = kv.Version, lease = kv.Lease,
    };

    private static object MemberJson(ClusterMember m) =>
        new { id = Hex(m.Id), name = m.Name, peer_urls = m.PeerUrls, client_urls = m.ClientUrls, is_learner = m.IsLearner };

    private static object OpJson(TxnOpResult op) =>
        op.Put is { } put ? (object)new { put = new { header = Header(put.Header), prev_kv = put.PrevKv is null ? null : Kv(put.PrevKv) } }
        : op.Range is { } range ? (object)new { range = new { kvs = range.Kvs.Select(Kv).ToArray(), more = range.More, count = range.Count } }
        : op.Delete is { } delete ? (object)new { delete = new { deleted = delete.Deleted, prev_kvs = delete.PrevKvs.Select(Kv).ToArray() } }
              : (object)new { txn = new { succeeded = op.Txn!.Succeeded } };

    private void Write(object value) => _writer.WriteLine(JsonSerializer.Serialize(value, JsonOptions));

    private void WriteTable(List<string[]> rows)
    {
        int columns = rows[0].Length;
        var widths = Enumerable.Range(0, columns).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var row in rows)
        {
            _writer.WriteLine(string.Join("  ", row.Select((cell, c) => c == columns - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd());
        }
    }
}
