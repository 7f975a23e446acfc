using Microsoft.Extensions.DependencyInjection;

namespace KvStore.Client.Tests.Sdk;

public sealed class DependencyInjectionTests
{
    [Fact]
    public async Task AddKvStoreClient_registers_one_shared_client_with_the_configured_options()
    {
        var services = new ServiceCollection();
        services.AddKvStoreClient(o =>
        {
            o.Endpoints = ["10.0.0.1:2379", "10.0.0.2:2379"];
            o.RequestTimeout = TimeSpan.FromSeconds(3);
        });
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<KvStoreClient>();

        Assert.Same(client, provider.GetRequiredService<KvStoreClient>());
        Assert.Equal(["10.0.0.1:2379", "10.0.0.2:2379"], client.Endpoints);
        Assert.Equal(TimeSpan.FromSeconds(3), client.Options.RequestTimeout);
    }

    [Fact]
    public void AddKvStoreClient_refuses_unusable_options_at_registration()
    {
        var services = new ServiceCollection();

        Assert.Throws<ArgumentException>(() => services.AddKvStoreClient(o => o.Endpoints = []));
    }
}
