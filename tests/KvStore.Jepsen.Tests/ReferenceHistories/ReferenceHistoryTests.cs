using KvStore.Jepsen.Histories;
using KvStore.Jepsen.Linearizability;
using KvStore.Jepsen.Linearizability.Models;

namespace KvStore.Jepsen.Tests.ReferenceHistories;

/// <summary>
/// The checker must agree with every verdict in <c>shared/histories/*/EXPECTED</c>: real histories
/// recorded by other people's tests, with verdicts known independently.
/// </summary>
public sealed class ReferenceHistoryTests
{
    /// <summary>Which model each directory's histories follow (see shared/histories/README.md).</summary>
    private static readonly IReadOnlyDictionary<string, string> ModelOfDirectory = new Dictionary<string, string>
    {
        ["jepsen-etcd-register"] = "cas-register",
        ["kv-append"] = "kv-append",
    };

    /// <summary>Far above what any reference history needs; a verdict of unknown fails the test.</summary>
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(60);

    public static IEnumerable<object[]> ExpectedVerdicts()
    {
        string? root = SharedHistories.Locate(out string problem);
        if (root is null)
        {
            // One row that fails with the reason: a missing directory must never pass silently.
            yield return ["(missing)", "(missing)", problem];
            yield break;
        }
        foreach (string expected in Directory.GetFiles(root, "EXPECTED", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string directory = Path.GetFileName(Path.GetDirectoryName(expected)!);
            foreach (string line in File.ReadLines(expected).Where(l => !string.IsNullOrWhiteSpace(l)))
            {
                string[] fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                yield return [directory, fields[0], fields.Length > 1 ? fields[1] : "(no verdict)"];
            }
        }
    }

    [Theory]
    [MemberData(nameof(ExpectedVerdicts))]
    public void Checker_agrees_with_the_known_verdict(string directory, string file, string expected)
    {
        string root = SharedHistories.Require();
        Assert.True(ModelOfDirectory.TryGetValue(directory, out string? model),
            $"no model is known for shared/histories/{directory}; add it to {nameof(ModelOfDirectory)}");
        Verdict want = expected switch
        {
            "linearizable" => Verdict.Linearizable,
            "not-linearizable" => Verdict.NotLinearizable,
            _ => throw new Xunit.Sdk.XunitException($"{directory}/EXPECTED: '{expected}' for {file} is not a verdict"),
        };

        HistoryFile history = HistoryFile.Read(Path.Combine(root, directory, file));
        CheckResult result = ModelCatalog.Check(model!, history.Operations, new CheckBudget(Budget));

        Assert.Equal(want, result.Verdict);
        if (want == Verdict.NotLinearizable)
        {
            PartitionResult violated = Assert.Single(result.Partitions, p => p.Verdict == Verdict.NotLinearizable);
            Assert.NotNull(violated.Counterexample);
            Assert.NotEmpty(violated.Counterexample!.Stuck);
        }
    }

    [Fact]
    public void Reference_histories_are_all_present()
    {
        string root = SharedHistories.Require();
        var counts = ExpectedVerdicts().GroupBy(row => (string)row[0]).ToDictionary(g => g.Key, g => g.Count());

        Assert.Equal(102, counts.GetValueOrDefault("jepsen-etcd-register"));
        Assert.Equal(6, counts.GetValueOrDefault("kv-append"));
        foreach (object[] row in ExpectedVerdicts())
        {
            Assert.True(File.Exists(Path.Combine(root, (string)row[0], (string)row[1])), $"missing {row[0]}/{row[1]}");
        }
    }
}
