using Microsoft.Extensions.Diagnostics.HealthChecks;
using NPipes.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Health checks for hosted NPipes servers.</summary>
public static class NPipesHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a check that is healthy while the server registered with <c>AddNPipesServer(pipeName, ...)</c> listens, and
    /// <paramref name="failureStatus"/> (default unhealthy) before it starts and once it stops.
    /// </summary>
    /// <param name="builder">The health checks builder (<c>services.AddHealthChecks()</c>).</param>
    /// <param name="pipeName">The server's pipe name.</param>
    /// <param name="name">The check's name; default <c>npipes:&lt;pipe name&gt;</c>.</param>
    /// <param name="failureStatus">The status reported when the server does not listen; default <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags to filter checks by.</param>
    public static IHealthChecksBuilder AddNPipesServerCheck(this IHealthChecksBuilder builder, string pipeName, string? name = null,
        HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(pipeName);
        return builder.Add(new HealthCheckRegistration(name ?? "npipes:" + pipeName,
            provider => new NPipesServerHealthCheck(provider.GetRequiredKeyedService<NPipesHostedServer>(pipeName)), failureStatus, tags));
    }
}
