using KvStore.Client;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="KvStoreClient"/> in a service collection.</summary>
public static class KvStoreClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers one shared <see cref="KvStoreClient"/> (a singleton, disposed with the container)
    /// and its <see cref="KvStoreClientOptions"/>, configured by <paramref name="configure"/>. The
    /// client logs through the container's <see cref="ILogger{TCategoryName}"/> when one is registered.
    /// </summary>
    /// <example><code>services.AddKvStoreClient(o => o.Endpoints = ["10.0.0.1:2379", "10.0.0.2:2379"]);</code></example>
    public static IServiceCollection AddKvStoreClient(this IServiceCollection services, Action<KvStoreClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new KvStoreClientOptions();
        configure?.Invoke(options);
        options.Validate();
        services.TryAddSingleton(options);
        services.TryAddSingleton(provider => new KvStoreClient(
            provider.GetRequiredService<KvStoreClientOptions>(),
            provider.GetService<ILogger<KvStoreClient>>()));
        return services;
    }
}
