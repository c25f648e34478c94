using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace NPipes.Hosting;

/// <summary>
/// Binds one named options instance from <c>&lt;section&gt;:&lt;name&gt;</c> of the host's configuration, when the
/// host has one (a bare service collection has none, and then nothing is bound).
/// </summary>
internal sealed class ConfigurationBinding<TOptions>(string name, string section, IServiceProvider services) : IConfigureNamedOptions<TOptions>
    where TOptions : class
{
    public void Configure(string? optionsName, TOptions options)
    {
        if (optionsName == name && services.GetService<IConfiguration>() is { } configuration)
        {
            configuration.GetSection(section).GetSection(name).Bind(options);
        }
    }

    public void Configure(TOptions options) => Configure(Options.DefaultName, options);
}
