namespace KvStore.Jepsen.Tests.Harness;

/// <summary>A theory that runs only when KVSTORE_JEPSEN_LONG=1: the long fault-injection matrix
/// takes tens of minutes, far over the CI budget (docs/fault-injection.md).</summary>
public sealed class LongRunTheoryAttribute : TheoryAttribute
{
    public const string Variable = "KVSTORE_JEPSEN_LONG";

    public LongRunTheoryAttribute()
    {
        if (Environment.GetEnvironmentVariable(Variable) != "1")
        {
            Skip = $"long fault-injection matrix: set {Variable}=1 to run it";
        }
    }
}
