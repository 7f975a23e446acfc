using System.Text;
using KvStore.Jepsen.Cli;
using KvStore.Jepsen.Tests.ReferenceHistories;

namespace KvStore.Jepsen.Tests.Cli;

/// <summary>The <c>check</c> verb run in-process, as a user would run the executable.</summary>
public sealed class CheckCommandTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"kvstore-jepsen-tests-{Guid.NewGuid():N}");

    public CheckCommandTests()
    {
        Directory.CreateDirectory(_directory);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Linearizable_history_exits_0()
    {
        string file = Write("ok.jsonl", """
            {"process":0,"type":"invoke","f":"write","key":"a","value":1}
            {"process":0,"type":"ok","f":"write","key":"a","value":1}
            {"process":1,"type":"invoke","f":"read","key":"a"}
            {"process":1,"type":"ok","f":"read","key":"a","value":1}
            """);

        var (code, output, error) = Run("check", "--model", "register", "--history", file);

        Assert.Equal(ExitCodes.Valid, code);
        Assert.Contains("(jsonl, 4 events, 2 operations)", output);
        Assert.Contains("verdict: linearizable", output);
        Assert.Equal("", error);
    }

    [Fact]
    public void Not_linearizable_history_exits_1_and_explains()
    {
        string file = Write("bad.edn", """
            {:process 0, :type :invoke, :f :append, :key "k", :value "a"}
            {:process 0, :type :ok, :f :append, :key "k", :value "a"}
            {:process 7, :type :invoke, :f :get, :key "k", :value nil}
            {:process 7, :type :ok, :f :get, :key "k", :value ""}
            """);

        var (code, output, _) = Run("check", "--model", "kv-append", "--history", file, "--format", "edn");

        Assert.Equal(ExitCodes.Invalid, code);
        Assert.Contains("verdict: NOT linearizable", output);
        Assert.Contains("key \"k\": not linearizable", output);
        Assert.Contains("process 7: get -> \"\" [invoked line 3, completed line 4]: impossible in state \"a\"", output);
    }

    [Fact]
    public void Search_out_of_time_exits_2()
    {
        var lines = new StringBuilder();
        for (int i = 0; i < 24; i++)
        {
            lines.AppendLine($$"""{"process":{{i}},"type":"invoke","f":"write","value":{{i}}}""");
        }
        lines.AppendLine("""{"process":99,"type":"invoke","f":"read"}""");
        lines.AppendLine("""{"process":99,"type":"ok","f":"read","value":-1}""");
        for (int i = 0; i < 24; i++)
        {
            lines.AppendLine($$"""{"process":{{i}},"type":"ok","f":"write","value":{{i}}}""");
        }
        string file = Write("hard.jsonl", lines.ToString());

        var (code, output, _) = Run("check", "--model", "register", "--history", file, "--time-limit", "0.05");

        Assert.Equal(ExitCodes.UnknownOrError, code);
        Assert.Contains("verdict: unknown", output);
        Assert.Contains("the time budget ran out", output);
    }

    [Fact]
    public void Malformed_history_exits_2_naming_file_and_line()
    {
        string file = Write("broken.jsonl", """
            {"process":0,"type":"invoke","f":"read"}
            {"process":0,"type":"ok","f":"read","value":tru}
            """);

        var (code, output, error) = Run("check", "--model", "register", "--history", file);

        Assert.Equal(ExitCodes.UnknownOrError, code);
        Assert.Equal("", output);
        Assert.Contains($"{file}:2: not a JSON event", error);
    }

    [Fact]
    public void Missing_file_exits_2()
    {
        string file = Path.Combine(_directory, "absent.log");

        var (code, _, error) = Run("check", "--model", "register", "--history", file);

        Assert.Equal(ExitCodes.UnknownOrError, code);
        Assert.Contains($"cannot read {file}", error);
    }

    [Theory]
    [InlineData(new string[0], "Required command was not provided")]
    [InlineData(new[] { "check", "--history", "x.log" }, "--model")]
    [InlineData(new[] { "check", "--model", "queue", "--history", "x.log" }, "'queue'")]
    [InlineData(new[] { "check", "--model", "register", "--history", "x.log", "--format", "csv" }, "'csv'")]
    [InlineData(new[] { "check", "--model", "register", "--history", "x.log", "--time-limit", "-1" }, "--time-limit must be a positive number")]
    [InlineData(new[] { "check", "--model", "register", "--history", "x.log", "--time-limit", "1e300" }, "--time-limit must be a positive number")]
    [InlineData(new[] { "frobnicate", "--workload", "register" }, "'frobnicate'")]
    public void Usage_errors_exit_2_with_a_message(string[] args, string message)
    {
        var (code, _, error) = Run(args);

        Assert.Equal(ExitCodes.UnknownOrError, code);
        Assert.Contains(message, error);
    }

    [Fact]
    public void Program_entry_exits_0_and_1_on_the_reference_histories()
    {
        string histories = SharedHistories.Require();

        int valid = Program.Main(["check", "--model", "cas-register", "--history",
            Path.Combine(histories, "jepsen-etcd-register", "etcd_002.log")]);
        int invalid = Program.Main(["check", "--model", "kv-append", "--history",
            Path.Combine(histories, "kv-append", "c10-bad.txt"), "--format", "auto"]);
        int unusable = Program.Main(["check", "--model", "register", "--history",
            Path.Combine(histories, "jepsen-etcd-register", "etcd_002.log")]);

        Assert.Equal((ExitCodes.Valid, ExitCodes.Invalid, ExitCodes.UnknownOrError), (valid, invalid, unusable));
    }

    private string Write(string name, string content)
    {
        string path = Path.Combine(_directory, name);
        File.WriteAllText(path, content);
        return path;
    }

    private static (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = JepsenCommandLine.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
