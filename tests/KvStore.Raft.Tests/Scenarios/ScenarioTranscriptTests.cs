using System.Runtime.CompilerServices;

namespace KvStore.Raft.Tests.Scenarios;

/// <summary>
/// Replays every Scenarios/*.txt transcript and compares each command's output with the text under it.
/// After an intended behaviour change, run with KVSTORE_REWRITE_TRANSCRIPTS=1 to rewrite the expected
/// outputs in the source tree, then review the diff.
/// </summary>
public sealed class ScenarioTranscriptTests
{
    private static string ScenarioDirectory([CallerFilePath] string thisFile = "") => Path.GetDirectoryName(thisFile)!;

    public static TheoryData<string> Transcripts()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(ScenarioDirectory(), "*.txt").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Transcripts))]
    public void TranscriptMatches(string name)
    {
        var path = Path.Combine(ScenarioDirectory(), name);
        var text = File.ReadAllText(path);
        var interpreter = new TranscriptInterpreter();
        var (rewritten, mismatches) = TranscriptFile.Run(name, text, interpreter.Execute);
        if (Environment.GetEnvironmentVariable("KVSTORE_REWRITE_TRANSCRIPTS") == "1")
        {
            if (rewritten != text)
            {
                File.WriteAllText(path, rewritten);
            }
            return;
        }
        Assert.True(mismatches.Count == 0, string.Join("\n\n", mismatches));
    }

    [Fact]
    public void SameTranscriptGivesSameOutputEveryRun()
    {
        var path = Path.Combine(ScenarioDirectory(), "elections.txt");
        var text = File.ReadAllText(path);
        var first = TranscriptFile.Run("elections.txt", text, new TranscriptInterpreter().Execute).Rewritten;
        var second = TranscriptFile.Run("elections.txt", text, new TranscriptInterpreter().Execute).Rewritten;
        Assert.Equal(first, second);
    }

    [Fact]
    public void MismatchIsReportedWithLineAndBothOutputs()
    {
        var text = "add-nodes 1\n----\nnot what happens\n";
        var (_, mismatches) = TranscriptFile.Run("inline.txt", text, new TranscriptInterpreter().Execute);
        var mismatch = Assert.Single(mismatches);
        Assert.Contains("inline.txt:1", mismatch);
        Assert.Contains("not what happens", mismatch);
        Assert.Contains("1: Follower term=0", mismatch);
    }
}
