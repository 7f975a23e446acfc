namespace KvStore.Jepsen.Histories;

/// <summary>Where an event was read from: a file and a 1-based line.</summary>
public readonly record struct SourcePosition(string File, int Line)
{
    public override string ToString() => $"{File}:{Line}";
}
