using System.Text;

namespace KvStore.Raft.Tests.Scenarios;

/// <summary>
/// A transcript: blocks of "command line", "----", expected output lines, blank line. Lines starting
/// with '#' between blocks are comments. <see cref="Run"/> replays the commands and produces both the
/// list of mismatches and the rewritten text (the same file with actual outputs), for
/// KVSTORE_REWRITE_TRANSCRIPTS=1.
/// </summary>
public static class TranscriptFile
{
    public const string Separator = "----";

    public static (string Rewritten, List<string> Mismatches) Run(string path, string text, Func<string, string> execute)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        var output = new StringBuilder();
        var mismatches = new List<string>();
        int i = 0;
        while (i < lines.Length)
        {
            string line = lines[i];
            if (line.Length == 0 || line.StartsWith('#'))
            {
                output.Append(line).Append('\n');
                i++;
                continue;
            }
            int commandLine = i + 1;
            string command = line;
            i++;
            if (i >= lines.Length || lines[i] != Separator)
            {
                throw new FormatException($"{path}:{commandLine}: command '{command}' must be followed by a '{Separator}' line");
            }
            i++;
            var expected = new List<string>();
            while (i < lines.Length && lines[i].Length != 0)
            {
                expected.Add(lines[i]);
                i++;
            }
            string actual = execute(command);
            string expectedText = string.Join('\n', expected);
            if (actual != expectedText)
            {
                mismatches.Add($"{path}:{commandLine}: '{command}'\n--- expected\n{expectedText}\n--- actual\n{actual}");
            }
            output.Append(command).Append('\n').Append(Separator).Append('\n').Append(actual).Append('\n');
        }
        var rewritten = output.ToString();
        // Normalize to exactly one trailing newline.
        rewritten = rewritten.TrimEnd('\n') + "\n";
        return (rewritten, mismatches);
    }
}
