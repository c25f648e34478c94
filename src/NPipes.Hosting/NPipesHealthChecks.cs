using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace NPipes.Hosting;

/// <summary>Healthy while the hosted server on its pipe listens (started, not stopping); reports its open and refused connections.</summary>
internal sealed class NPipesServerHealthCheck(NPipesHostedServer server) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        PipeServer? running = server.Server;
        if (!server.IsListening || running is null)
        {
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, $"Not listening on pipe '{server.PipeName}'."));
        }
        var data = new Dictionary<string, object>
        {
            ["activeConnections"] = running.ActiveConnections,
            ["refusedConnections"] = running.RefusedConnections,
        };
        return Task.FromResult(HealthCheckResult.Healthy($"Listening on pipe '{server.PipeName}'.", data));
    }
}
