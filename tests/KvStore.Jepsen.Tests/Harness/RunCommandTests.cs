using KvStore.Jepsen.Cli;

namespace KvStore.Jepsen.Tests.Harness;

/// <summary>The `run` verb's argument handling: unbuilt workloads and nemeses are refused by name, never skipped.</summary>
public sealed class RunCommandTests
{
    [Theory]
    [InlineData("--workload", "lock", "not built yet: workload lock")]
    [InlineData("--workload", "register,watch", "not built yet: workload watch")]
    [InlineData("--snapshot-every", "5", "--snapshot-every must be at least 10")]
    [InlineData("--nemesis", "flood", "unknown nemesis 'flood'")]
    public void Unbuilt_or_unknown_names_exit_2_with_the_name(string option, string value, string message)
    {
        var output = new StringWriter();
        var error = new StringWriter();

        int exit = JepsenCommandLine.Run(["run", option, value, "--time", "1", "--out", Path.Combine(Path.GetTempPath(), "never-created")], output, error);

        Assert.Equal(ExitCodes.UnknownOrError, exit);
        Assert.Contains(message, error.ToString());
        Assert.False(Directory.Exists(Path.Combine(Path.GetTempPath(), "never-created")));
    }

    [Fact]
    public void All_expands_to_every_built_workload_and_nemesis()
    {
        Assert.Equal(["register", "set"], RunCommand.ParseWorkloads("all"));
        Assert.Equal(["partition", "kill", "pause", "member", "clock", "lost-writes"], RunCommand.ParseNemeses("all"));
        Assert.Empty(RunCommand.ParseNemeses("none"));
    }

    [Fact]
    public void Only_three_or_five_nodes_are_accepted()
    {
        var error = new StringWriter();
        Assert.Equal(ExitCodes.UnknownOrError, JepsenCommandLine.Run(["run", "--nodes", "4"], new StringWriter(), error));
    }
}
