using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NPipes;
using NPipes.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers NPipes servers (hosted: they start and stop with the host) and clients (injectable) in a service collection.
/// </summary>
/// <remarks>
/// Settings come from the code's <c>configure</c> action and then from the configuration section
/// <c>NPipes:Servers:&lt;pipe name&gt;</c> / <c>NPipes:Clients:&lt;pipe name&gt;</c> when the host has an
/// <see cref="Microsoft.Extensions.Configuration.IConfiguration"/>. Logs and metrics go through the host's
/// <see cref="Microsoft.Extensions.Logging.ILoggerFactory"/> and <see cref="System.Diagnostics.Metrics.IMeterFactory"/>.
/// </remarks>
public static class NPipesServiceCollectionExtensions
{
    /// <summary>Serves text requests on <paramref name="pipeName"/>: each request's reply is what <paramref name="handleRequest"/> returns.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="pipeName">The pipe name to listen on (also the key of the <see cref="NPipesHostedServer"/> registered).</param>
    /// <param name="handleRequest">Returns the reply to one request; its token fires when the host's shutdown no longer lets it finish.</param>
    /// <param name="configure">Sets the server's options in code (configuration, if any, is applied after).</param>
    /// <exception cref="InvalidOperationException">A server on <paramref name="pipeName"/> is already registered.</exception>
    public static IServiceCollection AddNPipesServer(this IServiceCollection services, string pipeName,
        Func<string, CancellationToken, ValueTask<string>> handleRequest, Action<NPipesServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(handleRequest);
        return services.AddServer(pipeName, configure, _ => (host, server) =>
            server.ServeRequestsAsync((request, _) => handleRequest(request, host.Aborting)));
    }

    /// <summary>Serves whole connections on <paramref name="pipeName"/>, running <paramref name="handleConnection"/> for each client.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="pipeName">The pipe name to listen on.</param>
    /// <param name="handleConnection">Serves one connection until the client leaves; its token fires when the server begins to stop.</param>
    /// <param name="configure">Sets the server's options in code (configuration, if any, is applied after).</param>
    /// <exception cref="InvalidOperationException">A server on <paramref name="pipeName"/> is already registered.</exception>
    public static IServiceCollection AddNPipesServer(this IServiceCollection services, string pipeName,
        Func<PipeConnection, CancellationToken, Task> handleConnection, Action<NPipesServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(handleConnection);
        return services.AddServer(pipeName, configure, _ => (host, server) =>
            server.RunAsync((connection, stopping) => host.TrackAsync(connection, stopping, handleConnection)));
    }

    /// <summary>Serves text requests on <paramref name="pipeName"/> with <typeparamref name="THandler"/>, resolved from a new scope per request (registered as scoped if it is not yet).</summary>
    /// <exception cref="InvalidOperationException">A server on <paramref name="pipeName"/> is already registered.</exception>
    public static IServiceCollection AddNPipesServer<THandler>(this IServiceCollection services, string pipeName, Action<NPipesServerOptions>? configure = null)
        where THandler : class, IPipeRequestHandler
    {
        services.TryAddScoped<THandler>();
        services.TryAddScoped<PipeCaller>();
        return services.AddServer(pipeName, configure, provider => (host, server) => server.ServeRequestsAsync(async (connection, request, _) =>
        {
            await using AsyncServiceScope scope = provider.CreateAsyncScope();
            scope.ServiceProvider.GetRequiredService<PipeCaller>().Peer = connection.Peer;
            return await scope.ServiceProvider.GetRequiredService<THandler>().HandleAsync(request, host.Aborting).ConfigureAwait(false);
        }, CancellationToken.None));
    }

    /// <summary>Serves whole connections on <paramref name="pipeName"/> with <typeparamref name="THandler"/>, resolved from a new scope per connection (registered as scoped if it is not yet).</summary>
    /// <exception cref="InvalidOperationException">A server on <paramref name="pipeName"/> is already registered.</exception>
    public static IServiceCollection AddNPipesConnectionServer<THandler>(this IServiceCollection services, string pipeName, Action<NPipesServerOptions>? configure = null)
        where THandler : class, IPipeConnectionHandler
    {
        services.TryAddScoped<THandler>();
        return services.AddServer(pipeName, configure, provider => (host, server) => server.RunAsync((connection, stopping) =>
            host.TrackAsync(connection, stopping, async (c, token) =>
            {
                await using AsyncServiceScope scope = provider.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<THandler>().HandleAsync(c, token).ConfigureAwait(false);
            })));
    }

    /// <summary>
    /// Registers a <see cref="PipeClient"/> for <paramref name="pipeName"/> as a keyed singleton (key: the pipe name), for
    /// injection with <c>[FromKeyedServices("pipe name")] PipeClient client</c>. It is created unconnected: call
    /// <see cref="PipeClient.ConnectAsync"/> before use (it returns at once when connected). The container disposes it.
    /// </summary>
    /// <exception cref="InvalidOperationException">A client for <paramref name="pipeName"/> is already registered.</exception>
    public static IServiceCollection AddNPipesClient(this IServiceCollection services, string pipeName, Action<NPipesClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        PipeNames.Validate(pipeName);
        if (services.Any(d => d.ServiceType == typeof(PipeClient) && Equals(d.ServiceKey, pipeName)))
        {
            throw new InvalidOperationException($"A PipeClient for '{pipeName}' is already registered.");
        }
        services.AddNamedOptions(pipeName, configure, NPipesClientOptions.ConfigurationSection);
        services.AddKeyedSingleton(pipeName, static (provider, key) =>
        {
            string name = (string)key!;
            NPipesClientOptions settings = provider.GetRequiredService<IOptionsMonitor<NPipesClientOptions>>().Get(name);
            return new PipeClient(name, settings.ToPipeClientOptions(
                provider.GetService<Logging.ILoggerFactory>(), provider.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        });
        return services;
    }

    private static IServiceCollection AddServer(this IServiceCollection services, string pipeName, Action<NPipesServerOptions>? configure,
        Func<IServiceProvider, Func<NPipesHostedServer, PipeServer, Task>> serve)
    {
        ArgumentNullException.ThrowIfNull(services);
        PipeNames.Validate(pipeName);
        if (services.Any(d => d.ServiceType == typeof(NPipesHostedServer) && Equals(d.ServiceKey, pipeName)))
        {
            throw new InvalidOperationException($"An NPipes server on '{pipeName}' is already registered.");
        }
        services.AddNamedOptions(pipeName, configure, NPipesServerOptions.ConfigurationSection);
        services.AddKeyedSingleton(pipeName, (provider, _) => new NPipesHostedServer(pipeName, provider, serve(provider)));
        // One hosted service per server (AddHostedService would keep only one per type).
        services.AddSingleton<IHostedService>(provider => provider.GetRequiredKeyedService<NPipesHostedServer>(pipeName));
        return services;
    }

    private static void AddNamedOptions<TOptions>(this IServiceCollection services, string name, Action<TOptions>? configure, string section)
        where TOptions : class
    {
        OptionsBuilder<TOptions> options = services.AddOptions<TOptions>(name);
        if (configure is not null)
        {
            options.Configure(configure);
        }
        services.AddSingleton<IConfigureOptions<TOptions>>(provider => new ConfigurationBinding<TOptions>(name, section, provider));
    }
}
