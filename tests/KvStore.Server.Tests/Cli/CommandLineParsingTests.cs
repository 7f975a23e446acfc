using KvStore.Client;
using KvStore.Server.Cli;
using KvStore.Server.Cli.Client;

namespace KvStore.Server.Tests.Cli;

public sealed class CommandLineParsingTests
{
    [Fact]
    public void Get_flags_become_the_range_options()
    {
        var parse = KvStoreCommandLine.Build().Parse(["get", "app/", "--prefix", "--limit", "3", "--rev", "7", "--keys-only", "--serializable", "--sort-by", "Mod", "--order", "Descend"]);
        Assert.Empty(parse.Errors);

        var options = GetCommand.Options(parse);

        Assert.Equal(("app/", true, 3L, 7L, true, false, true, SortTarget.Mod, SortOrder.Descend),
            (System.Text.Encoding.UTF8.GetString(options.Key.Span), options.Prefix, options.Limit, options.Revision, options.KeysOnly, options.CountOnly, options.Serializable, options.SortTarget, options.SortOrder));
    }

    [Fact]
    public void Get_with_a_prefix_and_a_range_end_is_a_usage_error()
    {
        var parse = KvStoreCommandLine.Build().Parse(["get", "a", "b", "--prefix"]);

        Assert.Throws<CliUsageException>(() => GetCommand.Options(parse));
    }

    [Theory]
    [InlineData("h1:1,h2:2", "env:9", new[] { "h1:1", "h2:2" })]
    [InlineData(null, "e1:1, e2:2", new[] { "e1:1", "e2:2" })]
    [InlineData(null, null, new[] { "127.0.0.1:2379" })]
    [InlineData("", "", new[] { "127.0.0.1:2379" })]
    public void Endpoints_come_from_the_flag_then_the_environment_then_the_default(string? flag, string? environment, string[] expected) =>
        Assert.Equal(expected, ClientVerb.ResolveEndpoints(flag, environment));

    [Fact]
    public void A_malformed_endpoint_is_refused() =>
        Assert.Throws<ArgumentException>(() => ClientVerb.ResolveEndpoints("nohost", null));

    [Theory]
    [InlineData("8b37d07b558d826", 0x8b37d07b558d826UL)]
    [InlineData("0x10", 16UL)]
    public void Member_ids_are_hexadecimal(string text, ulong id) => Assert.Equal(id, MemberCommand.ParseId(text));

    [Theory]
    [InlineData("0")]
    [InlineData("xyz")]
    public void A_bad_member_id_is_a_usage_error(string text) => Assert.Throws<CliUsageException>(() => MemberCommand.ParseId(text));

    [Theory]
    [InlineData("--output", "yaml")]
    [InlineData("--lease", "12z")]
    public void Bad_option_values_are_parse_errors(string option, string value) =>
        Assert.NotEmpty(KvStoreCommandLine.Build().Parse(["put", "k", "v", option, value]).Errors);

    [Fact]
    public void Every_client_verb_is_registered()
    {
        var names = KvStoreCommandLine.Build().Subcommands.Select(c => c.Name).ToHashSet();

        Assert.All(new[] { "put", "get", "del", "txn", "compact", "status", "member", "bench" }, verb => Assert.Contains(verb, names));
    }

    [Fact]
    public void Bench_settings_default_to_at_most_sixteen_connections()
    {
        var parse = KvStoreCommandLine.Build().Parse(["bench", "put", "--clients", "256", "--target", "etcd", "--endpoints", "127.0.0.1:23790"]);
        Assert.Empty(parse.Errors);

        var settings = KvStore.Server.Cli.Bench.BenchCommand.Settings(parse, KvStore.Server.Cli.Bench.BenchWorkload.Put);

        Assert.Equal(("etcd", 256, 16, 256), (settings.Target, settings.Clients, settings.Connections, settings.ValueSize));
    }
}
