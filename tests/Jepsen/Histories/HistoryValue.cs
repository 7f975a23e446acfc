using System.Text;

namespace KvStore.Jepsen.Histories;

/// <summary>
/// A value carried by a history event: what Jepsen's EDN and our JSON lines can express for the
/// models we check (nil, integers, strings, keywords such as <c>:timed-out</c>, and vectors such as
/// a compare-and-set's <c>[expected new]</c>). Values compare structurally, so a model can test a
/// read against its state with <see cref="object.Equals(object)"/>.
/// </summary>
public abstract record HistoryValue
{
    /// <summary>The absent value (EDN <c>nil</c>, JSON <c>null</c>).</summary>
    public static readonly HistoryValue Nil = new NilValue();

    /// <summary>Renders the value the way EDN writes it.</summary>
    public abstract void WriteTo(StringBuilder text);

    public sealed override string ToString()
    {
        var text = new StringBuilder();
        WriteTo(text);
        return text.ToString();
    }
}

/// <summary>The absent value.</summary>
public sealed record NilValue : HistoryValue
{
    public override void WriteTo(StringBuilder text) => text.Append("nil");
}

/// <summary>A 64-bit integer.</summary>
public sealed record IntegerValue(long Value) : HistoryValue
{
    public override void WriteTo(StringBuilder text) => text.Append(Value);
}

/// <summary>A string.</summary>
public sealed record TextValue(string Value) : HistoryValue
{
    public override void WriteTo(StringBuilder text)
    {
        text.Append('"');
        foreach (char c in Value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                default: text.Append(c); break;
            }
        }
        text.Append('"');
    }
}

/// <summary>An EDN keyword such as <c>:timed-out</c>; <see cref="Name"/> excludes the colon.</summary>
public sealed record KeywordValue(string Name) : HistoryValue
{
    public override void WriteTo(StringBuilder text) => text.Append(':').Append(Name);
}

/// <summary>A vector of values, e.g. a compare-and-set's <c>[expected new]</c>.</summary>
public sealed record ListValue(IReadOnlyList<HistoryValue> Items) : HistoryValue
{
    public bool Equals(ListValue? other) =>
        other is not null && Items.SequenceEqual(other.Items);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (HistoryValue item in Items)
        {
            hash.Add(item);
        }
        return hash.ToHashCode();
    }

    public override void WriteTo(StringBuilder text)
    {
        text.Append('[');
        for (int i = 0; i < Items.Count; i++)
        {
            if (i > 0)
            {
                text.Append(' ');
            }
            Items[i].WriteTo(text);
        }
        text.Append(']');
    }
}
