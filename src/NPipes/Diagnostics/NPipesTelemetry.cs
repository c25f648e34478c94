using System.Diagnostics;

namespace NPipes;

/// <summary>
/// The names under which NPipes reports what happens on its pipes, for wiring up logging, metrics and tracing
/// (for example OpenTelemetry's <c>AddMeter(NPipesTelemetry.MeterName)</c> and <c>AddSource(NPipesTelemetry.ActivitySourceName)</c>).
/// </summary>
/// <remarks>
/// Logs go to the <see cref="Microsoft.Extensions.Logging.ILoggerFactory"/> given in the options
/// (<see cref="PipeServerOptions.LoggerFactory"/>, <see cref="PipeClientOptions.LoggerFactory"/>,
/// <see cref="NPipesOptions.LoggerFactory"/>); without one nothing is logged and nothing is spent on logging.
/// Metrics go to a <see cref="System.Diagnostics.Metrics.Meter"/> made by the options' <see cref="System.Diagnostics.Metrics.IMeterFactory"/>,
/// or else to one shared meter; both are named <see cref="MeterName"/>. Nothing is counted while no listener is attached.
/// </remarks>
public static class NPipesTelemetry
{
    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/> NPipes' instruments belong to: "NPipes".</summary>
    public const string MeterName = "NPipes";

    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/> that starts an activity per request: "NPipes".</summary>
    public const string ActivitySourceName = "NPipes";

    /// <summary>The category of NPipes' loggers: "NPipes".</summary>
    public const string LoggerCategory = "NPipes";

    /// <summary>The name of the activity started per request (client side: kind Client; served: kind Server).</summary>
    public const string RequestActivityName = "npipes.request";

    /// <summary>The assembly's version, given to the meter and the activity source.</summary>
    internal static readonly string? Version = typeof(NPipesTelemetry).Assembly.GetName().Version?.ToString(3);

    /// <summary>The one activity source; <see cref="ActivitySource.StartActivity(string, ActivityKind)"/> returns null (and costs next to nothing) while nobody listens.</summary>
    internal static readonly ActivitySource Source = new(ActivitySourceName, Version);
}
