using System.Globalization;
using System.Text;
using KvStore.Client;

namespace KvStore.Server.Cli.Client;

/// <summary>
/// The transaction language of `kvstore txn`, etcdctl's interactive txn syntax: three blocks —
/// compares, success operations, failure operations — each ended by an empty line (or the end
/// of input).
/// <code>
/// mod("key1") > "0"
/// val("key1") = "value1"
///
/// put key1 "new value"
/// get key2
///
/// put key1 "created"
/// </code>
/// A compare is <c>TARGET("KEY") OP VALUE</c>: TARGET is ver|version, c|create, m|mod, val|value,
/// lease or fence (KEY is then a lock name and VALUE a fencing token: <c>fence("L") = 42</c> holds
/// while lock L is held with token 42); OP is =, !=, &lt; or &gt;; VALUE is quoted (numbers may be bare). An operation is
/// <c>put [--prev-kv] [--lease=ID] KEY VALUE</c>, <c>get KEY [END] [--prefix] [--limit=N] [--rev=N]
/// [--keys-only] [--count-only] [--serializable]</c> or <c>del KEY [END] [--prefix] [--prev-kv]</c>.
/// Words may be quoted with " or ' (backslash escapes inside double quotes).
/// </summary>
internal static class TxnScript
{
    /// <summary>Splits a script into its three blocks and parses them.</summary>
    public static (List<TxnCondition> Compares, List<TxnOp> Success, List<TxnOp> Failure) Parse(string script)
    {
        var blocks = new List<List<(int Line, string Text)>> { new(), new(), new() };
        int block = 0;
        int lineNumber = 0;
        foreach (var raw in script.ReplaceLineEndings("\n").Split('\n'))
        {
            lineNumber++;
            var line = raw.Trim();
            if (line.Length == 0)
            {
                // An empty line ends the current block (so an immediately empty line means "no compares").
                block++;
                continue;
            }

            if (block >= 3)
            {
                throw new CliUsageException($"txn line {lineNumber}: text after the failure block ('{line}'); blocks are compares, success, failure");
            }

            blocks[block].Add((lineNumber, line));
        }

        return (
            blocks[0].Select(l => At(l.Line, () => ParseCompare(l.Text))).ToList(),
            blocks[1].Select(l => At(l.Line, () => ParseOp(l.Text))).ToList(),
            blocks[2].Select(l => At(l.Line, () => ParseOp(l.Text))).ToList());
    }

    /// <summary>Parses one compare, e.g. <c>mod("key1") &gt; "0"</c>.</summary>
    public static TxnCondition ParseCompare(string text)
    {
        int open = text.IndexOf('(', StringComparison.Ordinal);
        int close = text.LastIndexOf(')');
        if (open <= 0 || close < open)
        {
            throw new CliUsageException($"compare '{text}' is not TARGET(\"KEY\") OP VALUE");
        }

        string target = text[..open].Trim().ToLowerInvariant();
        var keyWords = Tokenize(text[(open + 1)..close]);
        var rest = Tokenize(text[(close + 1)..]);
        if (keyWords.Count != 1 || rest.Count != 2)
        {
            throw new CliUsageException($"compare '{text}' is not TARGET(\"KEY\") OP VALUE");
        }

        string key = keyWords[0];
        var op = rest[0] switch
        {
            "=" or "==" => CompareOperator.Equal,
            "!=" => CompareOperator.NotEqual,
            "<" => CompareOperator.Less,
            ">" => CompareOperator.Greater,
            _ => throw new CliUsageException($"compare '{text}': operator '{rest[0]}' is not one of = != < >"),
        };
        string operand = rest[1];
        if (target is "val" or "value")
        {
            return Cmp.Value(key).Is(op, Encoding.UTF8.GetBytes(operand));
        }

        if (!long.TryParse(operand, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long number))
        {
            throw new CliUsageException($"compare '{text}': '{operand}' is not a number");
        }

        var left = target switch
        {
            "ver" or "version" => Cmp.Version(key),
            "c" or "create" => Cmp.CreateRevision(key),
            "m" or "mod" => Cmp.ModRevision(key),
            "lease" => Cmp.Lease(key),
            "fence" => Cmp.FencingToken(key),
            _ => throw new CliUsageException($"compare '{text}': target '{target}' is not one of ver, create, mod, val, lease, fence"),
        };
        return left.Is(op, number);
    }

    /// <summary>Parses one operation, e.g. <c>put key1 "value"</c>.</summary>
    public static TxnOp ParseOp(string text)
    {
        var words = Tokenize(text);
        var flags = words.Skip(1).Where(w => w.StartsWith("--", StringComparison.Ordinal)).ToList();
        var args = words.Skip(1).Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToList();
        string verb = words.Count > 0 ? words[0].ToLowerInvariant() : string.Empty;
        switch (verb)
        {
            case "put":
                Expect(text, args, 2, 2);
                Allow(text, flags, "--prev-kv", "--lease");
                return Op.Put(args[0], args[1], new PutOptions { PrevKv = Has(flags, "--prev-kv"), Lease = Lease(text, flags) });
            case "get":
                Expect(text, args, 1, 2);
                Allow(text, flags, "--prefix", "--limit", "--rev", "--keys-only", "--count-only", "--serializable");
                return Op.Range(new RangeOptions
                {
                    Key = Encoding.UTF8.GetBytes(args[0]),
                    RangeEnd = args.Count > 1 ? Encoding.UTF8.GetBytes(args[1]) : default,
                    Prefix = Has(flags, "--prefix"),
                    Limit = Number(text, flags, "--limit"),
                    Revision = Number(text, flags, "--rev"),
                    KeysOnly = Has(flags, "--keys-only"),
                    CountOnly = Has(flags, "--count-only"),
                    Serializable = Has(flags, "--serializable"),
                });
            case "del" or "delete":
                Expect(text, args, 1, 2);
                Allow(text, flags, "--prefix", "--prev-kv");
                return Op.Delete(args[0], new DeleteOptions
                {
                    Prefix = Has(flags, "--prefix"),
                    PrevKv = Has(flags, "--prev-kv"),
                    RangeEnd = args.Count > 1 ? Encoding.UTF8.GetBytes(args[1]) : default,
                });
            default:
                throw new CliUsageException($"operation '{text}' is not put, get or del");
        }
    }

    /// <summary>Splits on whitespace, keeping "double" (with backslash escapes) and 'single' quoted words whole.</summary>
    public static List<string> Tokenize(string text)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        bool inWord = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }

                continue;
            }

            inWord = true;
            if (c is '"' or '\'')
            {
                char quote = c;
                int start = i;
                for (i++; i < text.Length && text[i] != quote; i++)
                {
                    if (quote == '"' && text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                    }

                    word.Append(text[i]);
                }

                if (i >= text.Length)
                {
                    throw new CliUsageException($"unclosed quote at column {start + 1} in '{text}'");
                }
            }
            else
            {
                word.Append(c);
            }
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return words;
    }

    private static T At<T>(int line, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (CliUsageException ex)
        {
            throw new CliUsageException($"txn line {line}: {ex.Message}");
        }
        catch (ArgumentException ex)
        {
            throw new CliUsageException($"txn line {line}: {ex.Message}");
        }
    }

    private static void Expect(string text, List<string> args, int min, int max)
    {
        if (args.Count < min || args.Count > max)
        {
            throw new CliUsageException($"operation '{text}' takes {(min == max ? $"{min}" : $"{min} to {max}")} arguments, not {args.Count}");
        }
    }

    private static void Allow(string text, List<string> flags, params string[] allowed)
    {
        foreach (var flag in flags)
        {
            string name = flag.Split('=')[0];
            if (!allowed.Contains(name))
            {
                throw new CliUsageException($"operation '{text}': unknown flag {name} (allowed: {string.Join(" ", allowed)})");
            }
        }
    }

    private static bool Has(List<string> flags, string name) => flags.Contains(name);

    private static long Number(string text, List<string> flags, string name)
    {
        var flag = flags.FirstOrDefault(f => f.StartsWith(name + "=", StringComparison.Ordinal));
        if (flag is null)
        {
            return 0;
        }

        return long.TryParse(flag.AsSpan(name.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out long value)
            ? value
            : throw new CliUsageException($"operation '{text}': {name} needs a non-negative number");
    }

    private static long Lease(string text, List<string> flags)
    {
        var flag = flags.FirstOrDefault(f => f.StartsWith("--lease=", StringComparison.Ordinal));
        return flag is null ? 0
            : LeaseId.TryParse(flag["--lease=".Length..], out long id) ? id
            : throw new CliUsageException($"operation '{text}': --lease needs a decimal or 0x-hex id");
    }
}
